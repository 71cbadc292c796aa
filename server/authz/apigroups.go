package authz

import (
	"strings"

	"go.temporal.io/server/common/api"
)

// group is how the authorizer treats one API beyond Temporal's role check.
type group int

const (
	// groupRoleOnly: Temporal's default role check; the grammar names no grant for it, so a caller
	// with grants only is denied (deny by default, also for APIs this build does not know).
	groupRoleOnly group = iota
	groupStart
	groupSignalWithStart
	groupMultiOperation
	groupSignal
	groupQuery
	groupCancel
	groupTerminate
	groupBatch
	groupSchedule
	groupPoll
	// groupWorkerFollowUp: what a worker calls after polling; allowed to holders of any
	// taskqueue.poll grant in the namespace.
	groupWorkerFollowUp
)

var workflowServiceGroups = map[string]group{
	"StartWorkflowExecution":           groupStart,
	"SignalWithStartWorkflowExecution": groupSignalWithStart,
	"ExecuteMultiOperation":            groupMultiOperation,
	"SignalWorkflowExecution":          groupSignal,
	"QueryWorkflow":                    groupQuery,
	"RequestCancelWorkflowExecution":   groupCancel,
	"TerminateWorkflowExecution":       groupTerminate,
	"StartBatchOperation":              groupBatch,
	"CreateSchedule":                   groupSchedule,
	"UpdateSchedule":                   groupSchedule,

	"PollWorkflowTaskQueue": groupPoll,
	"PollActivityTaskQueue": groupPoll,
	"PollNexusTaskQueue":    groupPoll,

	// Task-token calls (the token comes from a poll) and what the SDK worker calls around polling.
	// The *ById variants are left out on purpose: they name any workflow and activity by id, so they
	// are not "after polling" calls.
	"RespondWorkflowTaskCompleted": groupWorkerFollowUp,
	"RespondWorkflowTaskFailed":    groupWorkerFollowUp,
	"RespondQueryTaskCompleted":    groupWorkerFollowUp,
	"RespondActivityTaskCompleted": groupWorkerFollowUp,
	"RespondActivityTaskFailed":    groupWorkerFollowUp,
	"RespondActivityTaskCanceled":  groupWorkerFollowUp,
	"RecordActivityTaskHeartbeat":  groupWorkerFollowUp,
	"RespondNexusTaskCompleted":    groupWorkerFollowUp,
	"RespondNexusTaskFailed":       groupWorkerFollowUp,
	"ResetStickyTaskQueue":         groupWorkerFollowUp,
	"GetWorkflowExecutionHistory":  groupWorkerFollowUp,
	"DescribeNamespace":            groupWorkerFollowUp,
	"ShutdownWorker":               groupWorkerFollowUp,
	"RecordWorkerHeartbeat":        groupWorkerFollowUp,
	"FetchWorkerConfig":            groupWorkerFollowUp,
	// GetSystemInfo is a health check (always allowed) and so needs no entry.
}

func groupOf(fullAPIName string) group {
	if !strings.HasPrefix(fullAPIName, api.WorkflowServicePrefix) {
		return groupRoleOnly
	}
	return workflowServiceGroups[api.MethodName(fullAPIName)]
}

// Message names shared with the TypeScript side (docs/architecture.md §3: the public apiToken
// signal and queries, and the reserved __tokenrelay_ prefix for parent→child messages).
const (
	ReservedSignalPrefix = "__tokenrelay_"
	// signalHandoff is the one reserved name a caller may send, with token.handoff: a worker relaying
	// its workflow's handoff to a child over its own connection (docs/architecture.md §3).
	signalHandoff = ReservedSignalPrefix + "apiTokenHandoff"
	signalAPIToken       = "apiToken"
	signalAPIURL         = "apiUrl"
	queryAPIToken        = "apiToken"
	queryAPIAccess       = "apiAccess"
)

func isReservedSignal(name string) bool { return strings.HasPrefix(name, ReservedSignalPrefix) }

// isRotateSignal: the external signals that replace what a workflow holds ("rotate").
func isRotateSignal(name string) bool { return name == signalAPIToken || name == signalAPIURL }

// isRawTokenQuery: the queries that answer the raw token.
func isRawTokenQuery(name string) bool { return name == queryAPIToken || name == queryAPIAccess }
