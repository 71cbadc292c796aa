package authz

import (
	"strings"
	"testing"
)

// The same strings src/auth/permissions.ts accepts and refuses.
func TestParsePermission(t *testing.T) {
	ok := map[string]Permission{
		"default:read":                                {Namespace: "default", Role: "read"},
		"default:WRITE":                               {Namespace: "default", Role: "write"},
		"temporal-system:admin":                       {Namespace: "temporal-system", Role: "admin"},
		"*:read":                                      {Namespace: "*", Role: "read"},
		"my.ns_1-x:worker":                            {Namespace: "my.ns_1-x", Role: "worker"},
		"default:token.rotate":                        {Namespace: "default", Action: ActionTokenRotate, Pattern: "*"},
		"default:token.read:inventory*":               {Namespace: "default", Action: ActionTokenRead, Pattern: "inventory*"},
		"default:workflow.start:inventorySync":        {Namespace: "default", Action: ActionWorkflowStart, Pattern: "inventorySync"},
		"default:workflow.signal:a/b-c.d_e":           {Namespace: "default", Action: ActionWorkflowSignal, Pattern: "a/b-c.d_e"},
		"default:workflow.query:*":                    {Namespace: "default", Action: ActionWorkflowQuery, Pattern: "*"},
		"default:workflow.cancel:x":                   {Namespace: "default", Action: ActionWorkflowCancel, Pattern: "x"},
		"default:workflow.terminate:x*y":              {Namespace: "default", Action: ActionWorkflowTerminate, Pattern: "x*y"},
		"default:taskqueue.poll:tokenrelay-reference": {Namespace: "default", Action: ActionTaskQueuePoll, Pattern: "tokenrelay-reference"},
		"*:taskqueue.poll":                            {Namespace: "*", Action: ActionTaskQueuePoll, Pattern: "*"},
	}
	for value, want := range ok {
		got, err := ParsePermission(value)
		if err != nil || got != want {
			t.Errorf("%q: got %+v, %v; want %+v", value, got, err, want)
		}
	}
	for _, value := range []string{
		"", "default", ":read", "default:", "default:reader", "default:read:x", "-ns:read", "n s:read",
		"default:token.rotate:", "default:token.rotate:a b", "default:token.rotate:a?", "default:token.rotate:a:b",
		"default:token.Rotate", "default:token.write", "default:workflow.start:" + strings.Repeat("a", 256),
		strings.Repeat("n", 256) + ":read", "default:taskqueue.poll:x\n", "**:read",
	} {
		if p, err := ParsePermission(value); err == nil {
			t.Errorf("%q accepted as %+v", value, p)
		}
	}
}

func TestGlobMatches(t *testing.T) {
	cases := []struct {
		pattern, name string
		want          bool
	}{
		{"*", "", true}, {"*", "anything", true}, {"inventory*", "inventory", true}, {"inventory*", "inventorySync", true},
		{"inventory*", "xinventory", false}, {"*Sync", "storeSync", true}, {"*Sync", "storeSyncs", false},
		{"a*b*c", "abc", true}, {"a*b*c", "aXXbYYc", true}, {"a*b*c", "acb", false}, {"exact", "exact", true},
		{"exact", "exactly", false}, {"", "", true}, {"", "x", false}, {"a**", "a", true},
		{"*a*a*a*a*a*a*a*b", strings.Repeat("a", 60), false},
	}
	for _, c := range cases {
		if got := GlobMatches(c.pattern, c.name); got != c.want {
			t.Errorf("GlobMatches(%q, %q) = %v", c.pattern, c.name, got)
		}
	}
}

func TestGrantsScopeByNamespace(t *testing.T) {
	g := NewGrants([]Permission{
		{Namespace: "default", Action: ActionTokenRead, Pattern: "inv*"},
		{Namespace: "*", Action: ActionTaskQueuePoll, Pattern: "q"},
		{Namespace: "default", Role: "admin"},
	})
	if !g.Allows("default", ActionTokenRead, "invX") || g.Allows("other", ActionTokenRead, "invX") ||
		!g.Allows("other", ActionTaskQueuePoll, "q") || g.Has("default", ActionTokenRotate) || len(g.list) != 2 {
		t.Fatalf("%+v", g.list)
	}
	var none *Grants
	if none.Has("default", ActionTokenRead) || !none.Empty() {
		t.Fatal("nil grants must hold nothing")
	}
}
