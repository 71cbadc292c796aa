package authz

import (
	"context"
	"errors"
	"strings"
	"testing"

	batchpb "go.temporal.io/api/batch/v1"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	querypb "go.temporal.io/api/query/v1"
	schedulepb "go.temporal.io/api/schedule/v1"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	updatepb "go.temporal.io/api/update/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/server/common/api"
	"go.temporal.io/server/common/authorization"
)

// --- fixtures -------------------------------------------------------------------------------------

func claimsOf(perms ...string) *authorization.Claims {
	m := &claimMapper{logger: nil}
	m.logger = noopLogger()
	list := make([]any, len(perms))
	for i, p := range perms {
		list[i] = p
	}
	return m.mapPermissions("sub-"+strings.Join(perms, ","), list)
}

// The dev applications of the spec, plus callers that exercise one grant at a time.
var (
	worker    = claimsOf("default:taskqueue.poll:tokenrelay-reference", "default:workflow.start:inventory*", "default:token.read:inventory*", "default:token.handoff:inventory*")
	developer = claimsOf("default:write", "default:token.read", "default:token.rotate")
	rotator   = claimsOf("default:read", "default:token.rotate")
	reader    = claimsOf("default:read")
	writer    = claimsOf("default:write")
	outsider  = claimsOf("elsewhere:write")
	admin     = claimsOf("temporal-system:admin")
	nsAdmin   = claimsOf("default:admin")
	everyRead = claimsOf("*:read")
	// Grant-only callers scoped by workflow type.
	scoped = claimsOf("default:workflow.signal:inventory*", "default:workflow.query:inventory*",
		"default:workflow.cancel:inventory*", "default:workflow.terminate:inventory*")
	scopedRotate = claimsOf("default:token.rotate:inventory*", "default:token.read:inventory*")
	anyNsPoller  = claimsOf("*:taskqueue.poll:jobs-*")
	nobody       = claimsOf()
	// What Temporal's no-op claim mapper gives every caller of internal-frontend.
	internal = &authorization.Claims{System: authorization.RoleAdmin}
)

type fakeResolver map[string]string

func (f fakeResolver) WorkflowType(_ context.Context, namespace, workflowID, _ string) (string, error) {
	if t, ok := f[namespace+"/"+workflowID]; ok {
		return t, nil
	}
	return "", errors.New("workflow not found")
}

var resolver = fakeResolver{
	"default/inv-1":   "inventorySync",
	"default/other-1": "billingRun",
}

type recordingAuditor struct{ events []AuditEvent }

func (r *recordingAuditor) Record(e AuditEvent) { r.events = append(r.events, e) }

func wf(id string) *commonpb.WorkflowExecution { return &commonpb.WorkflowExecution{WorkflowId: id} }

func payload(encoding, data string) *commonpb.Payloads {
	return &commonpb.Payloads{Payloads: []*commonpb.Payload{{
		Metadata: map[string][]byte{"encoding": []byte(encoding)}, Data: []byte(data),
	}}}
}

var (
	encrypted = payload(EncryptedEncoding, "\x00ciphertext")
	plainTok  = payload("json/plain", `"secret-token-value"`)
	handoff   = &commonpb.Payloads{Payloads: []*commonpb.Payload{
		payload("json/plain", `{"apiUrl":"https://x"}`).Payloads[0],
		payload("json/plain", `{"apiToken":{"token":"secret-token-value","version":1}}`).Payloads[0],
	}}
)

func signal(id, name string, input *commonpb.Payloads) *workflowservice.SignalWorkflowExecutionRequest {
	return &workflowservice.SignalWorkflowExecutionRequest{Namespace: "default", WorkflowExecution: wf(id), SignalName: name, Input: input}
}

func signalWithStart(workflowType, name string, input, signalInput *commonpb.Payloads) *workflowservice.SignalWithStartWorkflowExecutionRequest {
	return &workflowservice.SignalWithStartWorkflowExecutionRequest{
		Namespace: "default", WorkflowId: "new-1", WorkflowType: &commonpb.WorkflowType{Name: workflowType},
		Input: input, SignalName: name, SignalInput: signalInput,
	}
}

func start(workflowType string, input *commonpb.Payloads) *workflowservice.StartWorkflowExecutionRequest {
	return &workflowservice.StartWorkflowExecutionRequest{Namespace: "default", WorkflowId: "new-1", WorkflowType: &commonpb.WorkflowType{Name: workflowType}, Input: input}
}

func query(id, name string) *workflowservice.QueryWorkflowRequest {
	return &workflowservice.QueryWorkflowRequest{Namespace: "default", Execution: wf(id), Query: &querypb.WorkflowQuery{QueryType: name}}
}

func pollWorkflow(queue string) *workflowservice.PollWorkflowTaskQueueRequest {
	return &workflowservice.PollWorkflowTaskQueueRequest{Namespace: "default", TaskQueue: &taskqueuepb.TaskQueue{Name: queue, Kind: enumspb.TASK_QUEUE_KIND_NORMAL}}
}

func pollSticky(sticky, normal string) *workflowservice.PollWorkflowTaskQueueRequest {
	return &workflowservice.PollWorkflowTaskQueueRequest{Namespace: "default", TaskQueue: &taskqueuepb.TaskQueue{Name: sticky, Kind: enumspb.TASK_QUEUE_KIND_STICKY, NormalName: normal}}
}

func pollActivity(queue string) *workflowservice.PollActivityTaskQueueRequest {
	return &workflowservice.PollActivityTaskQueueRequest{Namespace: "default", TaskQueue: &taskqueuepb.TaskQueue{Name: queue}}
}

func batchSignal(name string, input *commonpb.Payloads) *workflowservice.StartBatchOperationRequest {
	return &workflowservice.StartBatchOperationRequest{Namespace: "default", VisibilityQuery: "WorkflowType='x'",
		Operation: &workflowservice.StartBatchOperationRequest_SignalOperation{SignalOperation: &batchpb.BatchOperationSignal{Signal: name, Input: input}}}
}

func updateWithStart(workflowType string) *workflowservice.ExecuteMultiOperationRequest {
	return namedUpdateWithStart(workflowType, "setStock", nil)
}

func namedUpdateWithStart(workflowType, name string, args *commonpb.Payloads) *workflowservice.ExecuteMultiOperationRequest {
	return &workflowservice.ExecuteMultiOperationRequest{Namespace: "default", Operations: []*workflowservice.ExecuteMultiOperationRequest_Operation{
		{Operation: &workflowservice.ExecuteMultiOperationRequest_Operation_StartWorkflow{StartWorkflow: start(workflowType, nil)}},
		{Operation: &workflowservice.ExecuteMultiOperationRequest_Operation_UpdateWorkflow{UpdateWorkflow: update("new-1", name, args)}},
	}}
}

func update(id, name string, args *commonpb.Payloads) *workflowservice.UpdateWorkflowExecutionRequest {
	return &workflowservice.UpdateWorkflowExecutionRequest{
		Namespace: "default", WorkflowExecution: wf(id), Request: &updatepb.Request{Input: &updatepb.Input{Name: name, Args: args}},
	}
}

func createSchedule(input *commonpb.Payloads) *workflowservice.CreateScheduleRequest {
	return &workflowservice.CreateScheduleRequest{Namespace: "default", ScheduleId: "s1", Schedule: &schedulepb.Schedule{
		Action: &schedulepb.ScheduleAction{Action: &schedulepb.ScheduleAction_StartWorkflow{StartWorkflow: &workflowpb.NewWorkflowExecutionInfo{
			WorkflowId: "sched-wf", WorkflowType: &commonpb.WorkflowType{Name: "inventorySync"}, Input: input,
		}}},
	}}
}

// --- the decision table ---------------------------------------------------------------------------

type tcase struct {
	name      string
	claims    *authorization.Claims
	api       string
	namespace string // default "default"
	request   any
	allow     bool
	// audited: the decision must be one audit line; reason: substring of the deny/audit reason.
	audited bool
	reason  string
}

const ws = api.WorkflowServicePrefix

func TestDecisionTable(t *testing.T) {
	allApps := map[string]*authorization.Claims{
		"worker": worker, "developer": developer, "rotator": rotator, "reader": reader, "outsider": outsider,
		"admin": admin, "nsAdmin": nsAdmin, "writer": writer, "internal": internal, "scopedRotate": scopedRotate,
	}
	var cases []tcase
	// The reserved prefix: denied for every caller, cluster admin and the server's own included; the
	// one exception is a handoff from a token.handoff holder (the worker), below.
	for name, claims := range allApps {
		if name != "worker" {
			cases = append(cases,
				tcase{"reserved signal/" + name, claims, "SignalWorkflowExecution", "", signal("inv-1", "__tokenrelay_apiTokenHandoff", encrypted), false, true, "reserved"})
		}
		cases = append(cases,
			tcase{"reserved ack/" + name, claims, "SignalWorkflowExecution", "", signal("inv-1", "__tokenrelay_apiTokenAck", nil), false, true, "reserved"},
			tcase{"reserved signal-with-start/" + name, claims, "SignalWithStartWorkflowExecution", "", signalWithStart("inventorySync", "__tokenrelay_x", nil, encrypted), false, true, "reserved"},
			tcase{"reserved batch signal/" + name, claims, "StartBatchOperation", "", batchSignal("__tokenrelay_apiTokenHandoff", encrypted), false, true, "reserved"},
			tcase{"reserved update/" + name, claims, "UpdateWorkflowExecution", "", update("inv-1", "__tokenrelay_apiTokenAck", encrypted), false, true, "reserved"},
			tcase{"reserved update-with-start/" + name, claims, "ExecuteMultiOperation", "", namedUpdateWithStart("inventorySync", "__tokenrelay_apiTokenHandoff", encrypted), false, true, "reserved"},
		)
		if name != "worker" {
			cases = append(cases,
				tcase{"reserved handoff update/" + name, claims, "UpdateWorkflowExecution", "", update("inv-1", "__tokenrelay_apiTokenHandoff", encrypted), false, true, "reserved"})
		}
	}
	cases = append(cases, []tcase{
		// Health checks and missing credentials.
		{"health GetSystemInfo/nobody", nobody, "GetSystemInfo", "", &workflowservice.GetSystemInfoRequest{}, true, false, ""},
		{"grpc health/nil claims", nil, "/grpc.health.v1.Health/Check", "", nil, true, false, ""},
		{"nil claims denied", nil, "DescribeNamespace", "", &workflowservice.DescribeNamespaceRequest{Namespace: "default"}, false, false, "no credentials"},
		{"certificate only (empty claims) denied", nobody, "DescribeNamespace", "", &workflowservice.DescribeNamespaceRequest{Namespace: "default"}, false, false, ""},

		// A worker relaying its workflow's handoff: token.handoff on the child's type, encrypted.
		{"relay handoff/worker", worker, "SignalWorkflowExecution", "", signal("inv-1", "__tokenrelay_apiTokenHandoff", encrypted), true, true, "token.handoff grant matches workflow type \"inventorySync\""},
		{"relay handoff/worker other type denied", worker, "SignalWorkflowExecution", "", signal("other-1", "__tokenrelay_apiTokenHandoff", encrypted), false, true, "no token.handoff grant matches workflow type \"billingRun\""},
		{"relay handoff/worker unknown type fails closed", worker, "SignalWorkflowExecution", "", signal("gone-1", "__tokenrelay_apiTokenHandoff", encrypted), false, true, "workflow not found"},
		{"relay handoff/worker plaintext denied", worker, "SignalWorkflowExecution", "", signal("inv-1", "__tokenrelay_apiTokenHandoff", plainTok), false, true, "not encrypted"},
		{"relay handoff/worker other namespace", worker, "SignalWorkflowExecution", "elsewhere", signal("inv-1", "__tokenrelay_apiTokenHandoff", encrypted), false, true, "no token.handoff grant in namespace \"elsewhere\""},
		{"relay handoff/worker no payload denied", worker, "SignalWorkflowExecution", "", signal("inv-1", "__tokenrelay_apiTokenHandoff", nil), false, true, "exactly one payload"},
		{"relay handoff/worker two payloads denied", worker, "SignalWorkflowExecution", "", signal("inv-1", "__tokenrelay_apiTokenHandoff", &commonpb.Payloads{Payloads: []*commonpb.Payload{encrypted.Payloads[0], encrypted.Payloads[0]}}), false, true, "exactly one payload"},
		{"relay handoff/writer denied", writer, "SignalWorkflowExecution", "", signal("inv-1", "__tokenrelay_apiTokenHandoff", encrypted), false, true, "roles never imply token.handoff"},
		{"relay ack/worker denied", worker, "SignalWorkflowExecution", "", signal("inv-1", "__tokenrelay_apiTokenAck", encrypted), false, true, "reserved"},
		{"relay handoff signal-with-start/worker denied", worker, "SignalWithStartWorkflowExecution", "", signalWithStart("inventorySync", "__tokenrelay_apiTokenHandoff", nil, encrypted), false, true, "reserved"},
		// The update form, which a leaf takes in one write: the same rule.
		{"relay handoff update/worker", worker, "UpdateWorkflowExecution", "", update("inv-1", "__tokenrelay_apiTokenHandoff", encrypted), true, true, "token.handoff grant matches workflow type \"inventorySync\""},
		{"relay handoff update/worker other type denied", worker, "UpdateWorkflowExecution", "", update("other-1", "__tokenrelay_apiTokenHandoff", encrypted), false, true, "no token.handoff grant matches workflow type \"billingRun\""},
		{"relay handoff update/worker plaintext denied", worker, "UpdateWorkflowExecution", "", update("inv-1", "__tokenrelay_apiTokenHandoff", plainTok), false, true, "not encrypted"},
		{"relay handoff update/worker two payloads denied", worker, "UpdateWorkflowExecution", "", update("inv-1", "__tokenrelay_apiTokenHandoff", &commonpb.Payloads{Payloads: []*commonpb.Payload{encrypted.Payloads[0], encrypted.Payloads[0]}}), false, true, "exactly one payload"},
		{"relay handoff update/writer denied", writer, "UpdateWorkflowExecution", "", update("inv-1", "__tokenrelay_apiTokenHandoff", encrypted), false, true, "roles never imply token.handoff"},
		{"update public name/writer", writer, "UpdateWorkflowExecution", "", update("inv-1", "setStock", encrypted), true, false, ""},
		{"relay handoff batch/worker denied", worker, "StartBatchOperation", "", batchSignal("__tokenrelay_apiTokenHandoff", encrypted), false, true, "reserved"},

		// Rotation: token.rotate only, never implied by a role.
		{"rotate apiToken/rotator encrypted", rotator, "SignalWorkflowExecution", "", signal("inv-1", "apiToken", encrypted), true, true, "token.rotate grant"},
		{"rotate apiUrl/rotator plain", rotator, "SignalWorkflowExecution", "", signal("inv-1", "apiUrl", payload("json/plain", `"https://x"`)), true, true, ""},
		{"rotate apiToken/developer", developer, "SignalWorkflowExecution", "", signal("other-1", "apiToken", encrypted), true, true, ""},
		{"rotate apiToken/writer denied", writer, "SignalWorkflowExecution", "", signal("inv-1", "apiToken", encrypted), false, true, "never imply token.rotate"},
		{"rotate apiToken/cluster admin denied", admin, "SignalWorkflowExecution", "", signal("inv-1", "apiToken", encrypted), false, true, "no token.rotate grant"},
		{"rotate apiUrl/namespace admin denied", nsAdmin, "SignalWorkflowExecution", "", signal("inv-1", "apiUrl", nil), false, true, "token.rotate"},
		{"rotate apiToken/reader denied", reader, "SignalWorkflowExecution", "", signal("inv-1", "apiToken", encrypted), false, true, ""},
		{"rotate apiToken/worker denied", worker, "SignalWorkflowExecution", "", signal("inv-1", "apiToken", encrypted), false, true, ""},
		{"rotate apiToken/rotator other namespace", rotator, "SignalWorkflowExecution", "elsewhere", signal("inv-1", "apiToken", encrypted), false, true, "no token.rotate grant in namespace \"elsewhere\""},
		{"rotate scoped/type matches", scopedRotate, "SignalWorkflowExecution", "", signal("inv-1", "apiToken", encrypted), true, true, "inventorySync"},
		{"rotate scoped/type does not match", scopedRotate, "SignalWorkflowExecution", "", signal("other-1", "apiToken", encrypted), false, true, "billingRun"},
		{"rotate scoped/type unknown fails closed", scopedRotate, "SignalWorkflowExecution", "", signal("gone-1", "apiToken", encrypted), false, true, "workflow not found"},
		// Plain-text apiToken: refused whatever the caller holds, naming the codec.
		{"plaintext apiToken/developer", developer, "SignalWorkflowExecution", "", signal("inv-1", "apiToken", plainTok), false, true, "TOKENRELAY_CODEC_KEYS"},
		{"plaintext apiToken/rotator", rotator, "SignalWorkflowExecution", "", signal("inv-1", "apiToken", plainTok), false, true, "TOKENRELAY_CODEC_KEYS"},
		{"unmarked apiToken payload", rotator, "SignalWorkflowExecution", "", signal("inv-1", "apiToken", &commonpb.Payloads{Payloads: []*commonpb.Payload{{Data: []byte("x")}}}), false, true, "not encrypted"},

		// Other signals: write role or workflow.signal on the (resolved) type.
		{"signal/writer", writer, "SignalWorkflowExecution", "", signal("other-1", "stop", nil), true, false, ""},
		{"signal/reader denied", reader, "SignalWorkflowExecution", "", signal("inv-1", "stop", nil), false, false, ""},
		{"signal/scoped match", scoped, "SignalWorkflowExecution", "", signal("inv-1", "stop", nil), true, false, ""},
		{"signal/scoped mismatch", scoped, "SignalWorkflowExecution", "", signal("other-1", "stop", nil), false, false, "billingRun"},
		{"signal/scoped unresolvable", scoped, "SignalWorkflowExecution", "", signal("gone-1", "stop", nil), false, false, "unknown"},
		{"signal/outsider in default", outsider, "SignalWorkflowExecution", "", signal("inv-1", "stop", nil), false, false, ""},
		{"signal/outsider in its namespace", outsider, "SignalWorkflowExecution", "elsewhere", signal("x", "stop", nil), true, false, ""},
		{"signal/worker denied", worker, "SignalWorkflowExecution", "", signal("inv-1", "stop", nil), false, false, "no workflow.signal grant"},

		// Queries.
		{"query apiToken/reader denied", reader, "QueryWorkflow", "", query("inv-1", "apiToken"), false, true, "never imply token.read"},
		{"query apiAccess/admin denied", admin, "QueryWorkflow", "", query("inv-1", "apiAccess"), false, true, ""},
		{"query apiToken/rotator denied", rotator, "QueryWorkflow", "", query("inv-1", "apiToken"), false, true, ""},
		{"query apiToken/developer", developer, "QueryWorkflow", "", query("other-1", "apiToken"), true, true, ""},
		{"query apiToken/worker type match", worker, "QueryWorkflow", "", query("inv-1", "apiToken"), true, true, "inventorySync"},
		{"query apiAccess/worker type mismatch", worker, "QueryWorkflow", "", query("other-1", "apiAccess"), false, true, "billingRun"},
		{"query apiTokenInfo/reader", reader, "QueryWorkflow", "", query("inv-1", "apiTokenInfo"), true, false, ""},
		{"query apiTokenInfo/every-namespace reader", everyRead, "QueryWorkflow", "", query("inv-1", "apiTokenInfo"), true, false, ""},
		{"query apiTokenInfo/rotator (read role)", rotator, "QueryWorkflow", "", query("inv-1", "apiTokenInfo"), true, false, ""},
		{"query apiTokenInfo/worker denied", worker, "QueryWorkflow", "", query("inv-1", "apiTokenInfo"), false, false, "workflow.query"},
		{"query status/scoped match", scoped, "QueryWorkflow", "", query("inv-1", "status"), true, false, ""},
		{"query status/scoped mismatch", scoped, "QueryWorkflow", "", query("other-1", "status"), false, false, ""},
		{"query apiUrl/outsider denied", outsider, "QueryWorkflow", "", query("inv-1", "apiUrl"), false, false, ""},

		// Starts.
		{"start/writer", writer, "StartWorkflowExecution", "", start("anything", nil), true, false, ""},
		{"start/worker listed type", worker, "StartWorkflowExecution", "", start("inventorySync", nil), true, false, ""},
		{"start/worker unlisted type", worker, "StartWorkflowExecution", "", start("billingRun", nil), false, false, "billingRun"},
		{"start/rotator denied", rotator, "StartWorkflowExecution", "", start("inventorySync", nil), false, false, ""},
		{"start/reader denied", reader, "StartWorkflowExecution", "", start("inventorySync", nil), false, false, ""},
		{"start/worker other namespace", worker, "StartWorkflowExecution", "elsewhere", start("inventorySync", nil), false, false, ""},
		{"start plaintext handoff/developer", developer, "StartWorkflowExecution", "", start("inventorySync", handoff), false, true, "TOKENRELAY_CODEC_KEYS"},
		{"start plaintext handoff/admin", admin, "StartWorkflowExecution", "", start("inventorySync", handoff), false, true, "plain text"},
		{"start encrypted handoff/writer", writer, "StartWorkflowExecution", "", start("inventorySync", &commonpb.Payloads{Payloads: []*commonpb.Payload{encrypted.Payloads[0], encrypted.Payloads[0]}}), true, false, ""},
		{"start json without apiToken key/writer", writer, "StartWorkflowExecution", "", start("x", payload("json/plain", `{"token":"apiToken"}`)), true, false, ""},

		// Signal-with-start: start right, plus the signal's right.
		{"sws apiToken/developer", developer, "SignalWithStartWorkflowExecution", "", signalWithStart("inventorySync", "apiToken", nil, encrypted), true, true, ""},
		{"sws apiToken/rotator no start right", rotator, "SignalWithStartWorkflowExecution", "", signalWithStart("inventorySync", "apiToken", nil, encrypted), false, false, "workflow.start"},
		{"sws apiToken/writer no rotate", writer, "SignalWithStartWorkflowExecution", "", signalWithStart("inventorySync", "apiToken", nil, encrypted), false, true, "token.rotate"},
		{"sws apiToken plaintext/developer", developer, "SignalWithStartWorkflowExecution", "", signalWithStart("inventorySync", "apiToken", nil, plainTok), false, true, "TOKENRELAY_CODEC_KEYS"},
		{"sws handoff in start input/developer", developer, "SignalWithStartWorkflowExecution", "", signalWithStart("inventorySync", "stop", handoff, nil), false, true, "plain text"},
		{"sws other signal/writer", writer, "SignalWithStartWorkflowExecution", "", signalWithStart("x", "stop", nil, nil), true, false, ""},
		{"sws other signal/worker lacks signal grant", worker, "SignalWithStartWorkflowExecution", "", signalWithStart("inventorySync", "stop", nil, nil), false, false, "workflow.signal"},
		{"sws other signal/start+signal grants", claimsOf("default:workflow.start:inv*", "default:workflow.signal:inv*"), "SignalWithStartWorkflowExecution", "", signalWithStart("inventorySync", "stop", nil, nil), true, false, ""},

		// Update-with-start.
		{"multi-op/writer", writer, "ExecuteMultiOperation", "", updateWithStart("x"), true, false, ""},
		{"multi-op/worker start only", worker, "ExecuteMultiOperation", "", updateWithStart("inventorySync"), false, false, "workflow.signal"},
		{"multi-op/start+signal grants", claimsOf("default:workflow.start:inv*", "default:workflow.signal:inv*"), "ExecuteMultiOperation", "", updateWithStart("inventorySync"), true, false, ""},
		{"multi-op/grants wrong type", claimsOf("default:workflow.start:inv*", "default:workflow.signal:inv*"), "ExecuteMultiOperation", "", updateWithStart("billing"), false, false, ""},

		// Cancel / terminate.
		{"cancel/writer", writer, "RequestCancelWorkflowExecution", "", &workflowservice.RequestCancelWorkflowExecutionRequest{Namespace: "default", WorkflowExecution: wf("inv-1")}, true, false, ""},
		{"cancel/scoped match", scoped, "RequestCancelWorkflowExecution", "", &workflowservice.RequestCancelWorkflowExecutionRequest{Namespace: "default", WorkflowExecution: wf("inv-1")}, true, false, ""},
		{"cancel/scoped mismatch", scoped, "RequestCancelWorkflowExecution", "", &workflowservice.RequestCancelWorkflowExecutionRequest{Namespace: "default", WorkflowExecution: wf("other-1")}, false, false, ""},
		{"cancel/reader denied", reader, "RequestCancelWorkflowExecution", "", &workflowservice.RequestCancelWorkflowExecutionRequest{Namespace: "default", WorkflowExecution: wf("inv-1")}, false, false, ""},
		{"terminate/scoped match", scoped, "TerminateWorkflowExecution", "", &workflowservice.TerminateWorkflowExecutionRequest{Namespace: "default", WorkflowExecution: wf("inv-1")}, true, false, ""},
		{"terminate/scoped mismatch", scoped, "TerminateWorkflowExecution", "", &workflowservice.TerminateWorkflowExecutionRequest{Namespace: "default", WorkflowExecution: wf("other-1")}, false, false, ""},
		{"terminate/worker denied", worker, "TerminateWorkflowExecution", "", &workflowservice.TerminateWorkflowExecutionRequest{Namespace: "default", WorkflowExecution: wf("inv-1")}, false, false, ""},
		{"terminate/admin", admin, "TerminateWorkflowExecution", "", &workflowservice.TerminateWorkflowExecutionRequest{Namespace: "default", WorkflowExecution: wf("inv-1")}, true, false, ""},

		// Polls and what a worker does after polling.
		{"poll/worker own queue", worker, "PollWorkflowTaskQueue", "", pollWorkflow("tokenrelay-reference"), true, false, ""},
		{"poll/worker other queue", worker, "PollWorkflowTaskQueue", "", pollWorkflow("other-queue"), false, false, "other-queue"},
		{"poll activity/worker own queue", worker, "PollActivityTaskQueue", "", pollActivity("tokenrelay-reference"), true, false, ""},
		{"poll activity/worker other queue", worker, "PollActivityTaskQueue", "", pollActivity("x"), false, false, ""},
		{"poll sticky/worker normal name matches", worker, "PollWorkflowTaskQueue", "", pollSticky("host-1234-abcd", "tokenrelay-reference"), true, false, ""},
		{"poll sticky/worker normal name differs", worker, "PollWorkflowTaskQueue", "", pollSticky("tokenrelay-reference", "other-queue"), false, false, "other-queue"},
		{"poll/worker other namespace", worker, "PollWorkflowTaskQueue", "elsewhere", pollWorkflow("tokenrelay-reference"), false, false, ""},
		{"poll/any-namespace glob", anyNsPoller, "PollActivityTaskQueue", "elsewhere", pollActivity("jobs-7"), true, false, ""},
		{"poll/writer", writer, "PollWorkflowTaskQueue", "", pollWorkflow("anything"), true, false, ""},
		{"poll/reader denied", reader, "PollWorkflowTaskQueue", "", pollWorkflow("anything"), false, false, ""},
		{"poll nexus/worker", worker, "PollNexusTaskQueue", "", &workflowservice.PollNexusTaskQueueRequest{Namespace: "default", TaskQueue: &taskqueuepb.TaskQueue{Name: "tokenrelay-reference"}}, true, false, ""},
	}...)
	for _, followUp := range []string{"RespondWorkflowTaskCompleted", "RespondWorkflowTaskFailed", "RespondQueryTaskCompleted",
		"RespondActivityTaskCompleted", "RespondActivityTaskFailed", "RespondActivityTaskCanceled", "RecordActivityTaskHeartbeat",
		"RespondNexusTaskCompleted", "RespondNexusTaskFailed", "ResetStickyTaskQueue", "GetWorkflowExecutionHistory",
		"DescribeNamespace", "ShutdownWorker", "RecordWorkerHeartbeat", "FetchWorkerConfig"} {
		cases = append(cases,
			tcase{"follow-up " + followUp + "/worker", worker, followUp, "", nil, true, false, ""},
			tcase{"follow-up " + followUp + "/worker other namespace", worker, followUp, "elsewhere", nil, false, false, ""},
			tcase{"follow-up " + followUp + "/rotator without poll grant", scopedRotate, followUp, "", nil, false, false, "taskqueue.poll"},
		)
	}
	for _, byID := range []string{"RespondActivityTaskCompletedById", "RespondActivityTaskFailedById", "RespondActivityTaskCanceledById", "RecordActivityTaskHeartbeatById"} {
		cases = append(cases,
			tcase{"by-id " + byID + "/worker denied", worker, byID, "", nil, false, false, ""},
			tcase{"by-id " + byID + "/writer", writer, byID, "", nil, true, false, ""},
		)
	}
	cases = append(cases, []tcase{
		// Batches and schedules: role holders; token signals need an unscoped token.rotate too.
		{"batch terminate/writer", writer, "StartBatchOperation", "", &workflowservice.StartBatchOperationRequest{Namespace: "default"}, true, false, ""},
		{"batch signal stop/writer", writer, "StartBatchOperation", "", batchSignal("stop", nil), true, false, ""},
		{"batch signal stop/scoped denied", scoped, "StartBatchOperation", "", batchSignal("stop", nil), false, false, ""},
		{"batch apiToken/developer", developer, "StartBatchOperation", "", batchSignal("apiToken", encrypted), true, true, ""},
		{"batch apiToken plaintext/developer", developer, "StartBatchOperation", "", batchSignal("apiToken", plainTok), false, true, "TOKENRELAY_CODEC_KEYS"},
		{"batch apiToken/writer", writer, "StartBatchOperation", "", batchSignal("apiToken", encrypted), false, true, "token.rotate"},
		{"batch apiUrl/rotator (read role)", rotator, "StartBatchOperation", "", batchSignal("apiUrl", nil), false, true, "role"},
		{"batch apiToken/scoped rotate", claimsOf("default:write", "default:token.rotate:inv*"), "StartBatchOperation", "", batchSignal("apiToken", encrypted), false, true, "every type"},
		{"create schedule/writer", writer, "CreateSchedule", "", createSchedule(nil), true, false, ""},
		{"create schedule/worker denied", worker, "CreateSchedule", "", createSchedule(nil), false, false, ""},
		{"create schedule plaintext handoff/admin", admin, "CreateSchedule", "", createSchedule(handoff), false, true, "plain text"},

		// Everything else: Temporal's role check; grant-only callers denied; unknown APIs denied.
		{"describe workflow/reader", reader, "DescribeWorkflowExecution", "", nil, true, false, ""},
		{"describe workflow/every-namespace reader elsewhere", everyRead, "DescribeWorkflowExecution", "elsewhere", nil, true, false, ""},
		{"describe workflow/worker denied", worker, "DescribeWorkflowExecution", "", nil, false, false, ""},
		{"list workflows/scoped denied", scoped, "ListWorkflowExecutions", "", nil, false, false, ""},
		{"register namespace/admin", admin, "RegisterNamespace", "", nil, true, false, ""},
		{"register namespace/writer denied", writer, "RegisterNamespace", "", nil, false, false, ""},
		{"list namespaces (cluster)/writer denied", writer, "ListNamespaces", "", nil, false, false, ""},
		{"list namespaces (cluster)/every-namespace reader denied", everyRead, "ListNamespaces", "", nil, false, false, ""},
		{"list namespaces (cluster)/admin", admin, "ListNamespaces", "", nil, true, false, ""},
		{"update/writer", writer, "UpdateWorkflowExecution", "", nil, true, false, ""},
		{"update/scoped denied", scoped, "UpdateWorkflowExecution", "", nil, false, false, ""},
		{"unknown workflow API/admin", admin, ws + "NoSuchCall", "", nil, false, false, ""},
		{"unknown service/admin", admin, "/temporal.api.nosuch.v1.Service/Call", "", nil, false, false, ""},
		{"operator API/admin", admin, api.OperatorServicePrefix + "ListSearchAttributes", "", nil, true, false, ""},
		{"operator API/worker denied", worker, api.OperatorServicePrefix + "ListSearchAttributes", "", nil, false, false, ""},
		{"admin service/nsAdmin denied", nsAdmin, api.AdminServicePrefix + "DescribeCluster", "", nil, false, false, ""},

		// The server's own traffic through internal-frontend: stock behaviour apart from the prefix.
		{"internal/signal apiToken", internal, "SignalWorkflowExecution", "", signal("inv-1", "apiToken", encrypted), true, false, ""},
		{"internal/describe", internal, "DescribeWorkflowExecution", "", nil, true, false, ""},

		// Cross-namespace command check: the interceptor asks with a RespondWorkflowTaskCompleted request.
		{"cross-namespace signal command/writer", writer, "SignalWorkflowExecution", "", &workflowservice.RespondWorkflowTaskCompletedRequest{Namespace: "default"}, true, false, ""},
		{"cross-namespace signal command/worker", worker, "SignalWorkflowExecution", "", &workflowservice.RespondWorkflowTaskCompletedRequest{Namespace: "default"}, false, false, ""},
	}...)

	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			audit := &recordingAuditor{}
			a := NewAuthorizer(resolver, audit)
			name := tc.api
			if !strings.HasPrefix(name, "/") {
				name = ws + name
			}
			ns := tc.namespace
			if ns == "" {
				ns = "default"
			}
			result, err := a.Authorize(context.Background(), tc.claims, &authorization.CallTarget{APIName: name, Namespace: ns, Request: tc.request})
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if got := result.Decision == authorization.DecisionAllow; got != tc.allow {
				t.Fatalf("allow = %v, want %v (reason %q)", got, tc.allow, result.Reason)
			}
			if tc.audited != (len(audit.events) == 1) {
				t.Fatalf("audit events = %d, want audited=%v", len(audit.events), tc.audited)
			}
			reason := result.Reason
			if tc.audited {
				e := audit.events[0]
				reason = e.Reason
				want := map[bool]string{true: "allow", false: "deny"}[tc.allow]
				if e.Decision != want || e.API != strings.TrimPrefix(name, ws) || e.Namespace != ns {
					t.Fatalf("audit event %+v does not describe the decision", e)
				}
				if line := e.Reason + e.Signal + e.Query; strings.Contains(line, "secret-token-value") {
					t.Fatalf("audit event leaks payload data: %+v", e)
				}
			}
			if !strings.Contains(reason, tc.reason) {
				t.Fatalf("reason %q does not contain %q", reason, tc.reason)
			}
			if strings.Contains(result.Reason, "secret-token-value") {
				t.Fatalf("reason leaks payload data: %q", result.Reason)
			}
		})
	}
}

// Every WorkflowService API the server knows is decided (no panic) and a caller with grants only
// gets nothing outside the grammar's groups.
func TestGrantOnlyDeniedOutsideTheGrammar(t *testing.T) {
	everyGrant := claimsOf("*:token.rotate", "*:token.read", "*:workflow.start", "*:workflow.signal",
		"*:workflow.query", "*:workflow.cancel", "*:workflow.terminate", "*:taskqueue.poll")
	a := NewAuthorizer(resolver, nil)
	for _, method := range workflowServiceMethods() {
		result, _ := a.Authorize(context.Background(), everyGrant, &authorization.CallTarget{APIName: ws + method, Namespace: "default"})
		allowed := result.Decision == authorization.DecisionAllow
		_, inGrammar := workflowServiceGroups[method]
		if method == "GetSystemInfo" {
			inGrammar = true
		}
		if allowed && !inGrammar {
			t.Errorf("%s allowed for a grant-only caller", method)
		}
	}
}

func TestNoResolverDeniesTypeScopedGrantsOnIdOnlyCalls(t *testing.T) {
	audit := &recordingAuditor{}
	a := NewAuthorizer(nil, audit)
	result, _ := a.Authorize(context.Background(), scopedRotate, &authorization.CallTarget{
		APIName: ws + "SignalWorkflowExecution", Namespace: "default", Request: signal("inv-1", "apiToken", encrypted),
	})
	if result.Decision == authorization.DecisionAllow || !strings.Contains(audit.events[0].Reason, "no workflow-type resolver") {
		t.Fatalf("want a deny naming the missing resolver, got %+v / %+v", result, audit.events)
	}
	// An unscoped grant needs no resolution.
	result, _ = a.Authorize(context.Background(), rotator, &authorization.CallTarget{
		APIName: ws + "SignalWorkflowExecution", Namespace: "default", Request: signal("inv-1", "apiToken", encrypted),
	})
	if result.Decision != authorization.DecisionAllow {
		t.Fatalf("unscoped token.rotate without resolver: %+v", result)
	}
}
