package authz

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestAuditLinesAreOneJSONObjectEach(t *testing.T) {
	var out bytes.Buffer
	a := NewJSONLinesAuditor(&out)
	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a.Record(AuditEvent{Subject: "s", Namespace: "default", API: "QueryWorkflow", WorkflowID: "w", Query: "apiToken", Decision: "deny", Reason: "r"})
		}()
	}
	wg.Wait()
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 50 {
		t.Fatalf("%d lines", len(lines))
	}
	for _, line := range lines {
		var e map[string]any
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		for _, key := range []string{"time", "subject", "namespace", "api", "workflowId", "query", "decision", "reason"} {
			if _, ok := e[key]; !ok {
				t.Fatalf("line %q lacks %s", line, key)
			}
		}
	}
}

// The authorizer's audit of a plain-text apiToken signal names the refusal, never the token.
func TestAuditNeverHoldsTheToken(t *testing.T) {
	var out bytes.Buffer
	a := NewAuthorizer(resolver, NewJSONLinesAuditor(&out))
	for _, target := range []struct {
		api string
		req any
	}{
		{"SignalWorkflowExecution", signal("inv-1", "apiToken", plainTok)},
		{"StartWorkflowExecution", start("inventorySync", handoff)},
		{"SignalWithStartWorkflowExecution", signalWithStart("inventorySync", "apiToken", handoff, plainTok)},
	} {
		_, _ = a.Authorize(t.Context(), developer, targetOf(target.api, target.req))
	}
	if n := strings.Count(out.String(), "\n"); n != 3 || strings.Contains(out.String(), "secret-token-value") {
		t.Fatalf("audit (%d lines): %s", n, out.String())
	}
}

func TestOpenAuditLogCreatesAPrivateFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "authz-audit.log")
	a, closer, err := OpenAuditLog(path)
	if err != nil {
		t.Fatal(err)
	}
	a.Record(AuditEvent{Decision: "deny"})
	_ = closer.Close()
	info, err := os.Stat(path)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v err %v", info.Mode(), err)
	}
}
