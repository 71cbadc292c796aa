// Package authz is tokenrelay's authorization for the Temporal server: a claim mapper that verifies
// the issuer's JWTs and reads the permission grammar, and an authorizer that decides every call.
package authz

import (
	"fmt"
	"regexp"
	"strings"
)

// Action is one of tokenrelay's grants (the part after the namespace that is not a Temporal role).
type Action string

const (
	ActionTokenRotate       Action = "token.rotate"
	ActionTokenRead         Action = "token.read"
	ActionTokenHandoff      Action = "token.handoff"
	ActionWorkflowStart     Action = "workflow.start"
	ActionWorkflowSignal    Action = "workflow.signal"
	ActionWorkflowQuery     Action = "workflow.query"
	ActionWorkflowCancel    Action = "workflow.cancel"
	ActionWorkflowTerminate Action = "workflow.terminate"
	ActionTaskQueuePoll     Action = "taskqueue.poll"
)

var actions = []Action{
	ActionTokenRotate, ActionTokenRead, ActionTokenHandoff, ActionWorkflowStart, ActionWorkflowSignal,
	ActionWorkflowQuery, ActionWorkflowCancel, ActionWorkflowTerminate, ActionTaskQueuePoll,
}

// AllNamespaces is the namespace part that stands for every namespace.
const AllNamespaces = "*"

// Permission is one parsed permission string: either a Temporal role or a tokenrelay grant.
type Permission struct {
	Namespace string
	// Role is set (read, write, worker or admin) for a role permission; empty for a grant.
	Role string
	// Action and Pattern are set for a grant. Pattern is a glob over workflow types, or over task
	// queue names for taskqueue.poll; "*" when the permission omitted it.
	Action  Action
	Pattern string
}

// The same grammar as src/auth/permissions.ts, so the issuer never signs a string the server reads
// differently.
var (
	namespacePart = `(\*|[A-Za-z0-9][A-Za-z0-9._-]{0,254})`
	// Roles are matched case-insensitively, as Temporal's own claim mapper does, so third-party tokens
	// that write "default:READ" keep the meaning they have on a stock server.
	rolePattern  = regexp.MustCompile(`^` + namespacePart + `:(?i:(read|write|worker|admin))$`)
	grantPattern = regexp.MustCompile(`^` + namespacePart + `:(` + actionAlternatives() + `)(?::([A-Za-z0-9._/*-]{1,255}))?$`)
)

func actionAlternatives() string {
	parts := make([]string, len(actions))
	for i, a := range actions {
		parts[i] = regexp.QuoteMeta(string(a))
	}
	return strings.Join(parts, "|")
}

// ParsePermission parses one permission string of the grammar, or says why it is not one.
func ParsePermission(value string) (Permission, error) {
	if m := rolePattern.FindStringSubmatch(value); m != nil {
		return Permission{Namespace: m[1], Role: strings.ToLower(m[2])}, nil
	}
	if m := grantPattern.FindStringSubmatch(value); m != nil {
		pattern := m[3]
		if pattern == "" {
			pattern = "*"
		}
		return Permission{Namespace: m[1], Action: Action(m[2]), Pattern: pattern}, nil
	}
	return Permission{}, fmt.Errorf("not a permission of the grammar <namespace>:<role> or <namespace>:<grant>[:<glob>]: %q", truncate(value, 80))
}

// Grants holds the tokenrelay grants of one caller; the claim mapper puts it in Claims.Extensions.
// Roles are not repeated here: they live in Claims.System and Claims.Namespaces, as Temporal expects.
type Grants struct {
	list []Permission
}

// NewGrants keeps the grant permissions (not roles) of perms.
func NewGrants(perms []Permission) *Grants {
	g := &Grants{}
	for _, p := range perms {
		if p.Role == "" {
			g.list = append(g.list, p)
		}
	}
	return g
}

// Patterns returns the globs of every grant for action that applies to namespace.
func (g *Grants) Patterns(namespace string, action Action) []string {
	if g == nil {
		return nil
	}
	var out []string
	for _, p := range g.list {
		if p.Action == action && namespaceMatches(p.Namespace, namespace) {
			out = append(out, p.Pattern)
		}
	}
	return out
}

// Has reports whether any grant for action applies to namespace, whatever its pattern.
func (g *Grants) Has(namespace string, action Action) bool {
	return len(g.Patterns(namespace, action)) > 0
}

// Allows reports whether a grant for action in namespace matches target (a workflow type or a task
// queue name).
func (g *Grants) Allows(namespace string, action Action, target string) bool {
	for _, p := range g.Patterns(namespace, action) {
		if GlobMatches(p, target) {
			return true
		}
	}
	return false
}

// Empty reports whether the caller holds no grant at all.
func (g *Grants) Empty() bool { return g == nil || len(g.list) == 0 }

func namespaceMatches(pattern, namespace string) bool {
	return pattern == AllNamespaces || pattern == namespace
}

// GlobMatches reports whether pattern ("*" = any run of characters, possibly empty; every other
// character literal) matches all of name. Iterative, so a hostile pattern cannot make it backtrack
// exponentially.
func GlobMatches(pattern, name string) bool {
	p, n := 0, 0
	star, mark := -1, 0
	for n < len(name) {
		switch {
		case p < len(pattern) && pattern[p] != '*' && pattern[p] == name[n]:
			p++
			n++
		case p < len(pattern) && pattern[p] == '*':
			star = p
			p++
			mark = n
		case star != -1:
			p = star + 1
			mark++
			n = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
