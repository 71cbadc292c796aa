package authz

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// AuditEvent is one decision on a token-sensitive call. It never holds a token or payload data:
// only who, where, which message, and the outcome.
type AuditEvent struct {
	Time         string `json:"time"`
	Subject      string `json:"subject"`
	Namespace    string `json:"namespace"`
	API          string `json:"api"`
	WorkflowID   string `json:"workflowId,omitempty"`
	WorkflowType string `json:"workflowType,omitempty"`
	Signal       string `json:"signal,omitempty"`
	Query        string `json:"query,omitempty"`
	Decision     string `json:"decision"`
	Reason       string `json:"reason"`
}

// Auditor receives audit events.
type Auditor interface {
	Record(AuditEvent)
}

// JSONLinesAuditor writes one JSON object per line; a line is written with a single Write so
// concurrent decisions never interleave.
type JSONLinesAuditor struct {
	mu  sync.Mutex
	out io.Writer
	now func() time.Time
}

// NewJSONLinesAuditor writes to out (a file opened for append, or stdout).
func NewJSONLinesAuditor(out io.Writer) *JSONLinesAuditor {
	return &JSONLinesAuditor{out: out, now: time.Now}
}

// OpenAuditLog opens TOKENRELAY_AUTHZ_AUDIT_LOG: "-" (or empty) is stdout, anything else a file
// appended to and created with mode 0600.
func OpenAuditLog(path string) (*JSONLinesAuditor, io.Closer, error) {
	if path == "" || path == "-" {
		return NewJSONLinesAuditor(os.Stdout), io.NopCloser(nil), nil
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("cannot open the audit log %s: %w", path, err)
	}
	return NewJSONLinesAuditor(f), f, nil
}

func (a *JSONLinesAuditor) Record(e AuditEvent) {
	if e.Time == "" {
		e.Time = a.now().UTC().Format(time.RFC3339Nano)
	}
	line, err := json.Marshal(e)
	if err != nil {
		return
	}
	line = append(line, '\n')
	a.mu.Lock()
	defer a.mu.Unlock()
	_, _ = a.out.Write(line)
}
