package authz

import (
	"context"
	"fmt"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/server/common/api"
	"go.temporal.io/server/common/authorization"
)

// Authorizer is tokenrelay's decision table (server/README.md lists it). Roles keep Temporal's
// meaning except on token-sensitive calls; grants extend what a caller may do, scoped by workflow
// type or task queue name.
type Authorizer struct {
	resolver TypeResolver
	audit    Auditor
}

var _ authorization.Authorizer = (*Authorizer)(nil)

// NewAuthorizer decides with resolver for id-only calls (nil: type-scoped grants on those calls are
// denied) and records token-sensitive decisions to audit (nil: nowhere).
func NewAuthorizer(resolver TypeResolver, audit Auditor) *Authorizer {
	return &Authorizer{resolver: resolver, audit: audit}
}

var (
	allow = authorization.Result{Decision: authorization.DecisionAllow}
)

func deny(reason string) authorization.Result {
	return authorization.Result{Decision: authorization.DecisionDeny, Reason: reason}
}

func (a *Authorizer) Authorize(ctx context.Context, claims *authorization.Claims, target *authorization.CallTarget) (authorization.Result, error) {
	if authorization.IsHealthCheckAPI(target.APIName) {
		return allow, nil
	}
	if claims == nil {
		return deny("no credentials"), nil
	}
	c := &call{
		ctx:       ctx,
		resolver:  a.resolver,
		claims:    claims,
		target:    target,
		namespace: target.Namespace,
		api:       api.MethodName(target.APIName),
	}
	c.grants, c.fromTokenrelay = claims.Extensions.(*Grants)
	result := c.decide()
	if c.sensitive && a.audit != nil {
		decision := "allow"
		if result.Decision != authorization.DecisionAllow {
			decision = "deny"
		}
		a.audit.Record(AuditEvent{
			Subject:      c.subject(),
			Namespace:    c.namespace,
			API:          c.api,
			WorkflowID:   c.workflowID,
			WorkflowType: c.workflowType,
			Signal:       c.signal,
			Query:        c.query,
			Decision:     decision,
			Reason:       c.reasonFor(result),
		})
	}
	return result, nil
}

// call is one decision in progress, with what it learnt for the audit line.
type call struct {
	ctx       context.Context
	resolver  TypeResolver
	claims    *authorization.Claims
	target    *authorization.CallTarget
	namespace string
	api       string
	grants    *Grants
	// fromTokenrelay: claims made by this build's claim mapper. Otherwise they come from Temporal's
	// no-op mapper, which internal-frontend uses for the server's own system worker (reachable only
	// with an internode certificate).
	fromTokenrelay bool

	sensitive    bool
	allowReason  string
	workflowID   string
	workflowType string
	signal       string
	query        string
}

func (c *call) subject() string {
	if !c.fromTokenrelay {
		return "(internal-frontend)"
	}
	return c.claims.Subject
}

func (c *call) reasonFor(r authorization.Result) string {
	if r.Decision == authorization.DecisionAllow {
		return c.allowReason
	}
	return r.Reason
}

func (c *call) decide() authorization.Result {
	if name, found := c.reservedSignal(); found {
		c.sensitive = true
		c.signal = name
		if c.fromTokenrelay && name == signalHandoff {
			switch req := c.target.Request.(type) {
			case *workflowservice.SignalWorkflowExecutionRequest:
				return c.relayHandoff(req.GetWorkflowExecution(), req.GetInput())
			case *workflowservice.UpdateWorkflowExecutionRequest:
				return c.relayHandoff(req.GetWorkflowExecution(), req.GetRequest().GetInput().GetArgs())
			}
		}
		return deny(fmt.Sprintf("signal and update names starting with %q are reserved for workflow-to-workflow messages", ReservedSignalPrefix))
	}
	if !c.fromTokenrelay {
		// The server's own traffic: Temporal's role check, as on a stock server.
		return c.roleOnly()
	}
	switch groupOf(c.target.APIName) {
	case groupStart:
		return c.start()
	case groupSignalWithStart:
		return c.signalWithStart()
	case groupMultiOperation:
		return c.multiOperation()
	case groupSignal:
		return c.signalExisting()
	case groupQuery:
		return c.queryExisting()
	case groupCancel:
		return c.writeExisting(ActionWorkflowCancel, executionOf[*workflowservice.RequestCancelWorkflowExecutionRequest])
	case groupTerminate:
		return c.writeExisting(ActionWorkflowTerminate, executionOf[*workflowservice.TerminateWorkflowExecutionRequest])
	case groupBatch:
		return c.batch()
	case groupSchedule:
		return c.schedule()
	case groupPoll:
		return c.poll()
	case groupWorkerFollowUp:
		if c.roleAllows() || c.grants.Has(c.namespace, ActionTaskQueuePoll) {
			return allow
		}
		return deny(fmt.Sprintf("%s needs a role or a taskqueue.poll grant in namespace %q", c.api, c.namespace))
	default:
		return c.roleOnly()
	}
}

// reservedSignal finds an external signal or update with the reserved prefix, whoever sends it.
func (c *call) reservedSignal() (string, bool) {
	var name string
	switch req := c.target.Request.(type) {
	case *workflowservice.SignalWorkflowExecutionRequest:
		name = req.GetSignalName()
		c.workflowID = req.GetWorkflowExecution().GetWorkflowId()
	case *workflowservice.SignalWithStartWorkflowExecutionRequest:
		name = req.GetSignalName()
		c.workflowID = req.GetWorkflowId()
		c.workflowType = req.GetWorkflowType().GetName()
	case *workflowservice.StartBatchOperationRequest:
		name = req.GetSignalOperation().GetSignal()
	case *workflowservice.UpdateWorkflowExecutionRequest:
		// The update form of the handoff, which a worker's relay sends first to every child.
		name = req.GetRequest().GetInput().GetName()
		c.workflowID = req.GetWorkflowExecution().GetWorkflowId()
	case *workflowservice.ExecuteMultiOperationRequest:
		// Update-with-start never carries a handoff: any reserved update in it is refused.
		for _, op := range req.GetOperations() {
			if n := op.GetUpdateWorkflow().GetRequest().GetInput().GetName(); isReservedSignal(n) {
				name = n
			}
		}
	default:
		return "", false
	}
	// Only for the API the request belongs to: the interceptor also asks about cross-namespace
	// commands with a RespondWorkflowTaskCompleted request, and workflow-to-workflow signals are
	// allowed to use the prefix.
	return name, isReservedSignal(name)
}

// roleOnly is Temporal's default role check, with the grammar's "*:<role>" (every namespace) added.
func (c *call) roleOnly() authorization.Result {
	if c.roleAllows() {
		return allow
	}
	return deny(fmt.Sprintf("%s needs a Temporal role that covers it", c.api))
}

func (c *call) roleAllows() bool {
	md := api.GetMethodMetadata(c.target.APIName)
	var held authorization.Role
	switch md.Scope {
	case api.ScopeCluster:
		held = c.claims.System
	case api.ScopeNamespace:
		held = c.claims.System | c.claims.Namespaces[c.namespace] | c.claims.Namespaces[AllNamespaces]
	default:
		return false
	}
	switch md.Access {
	case api.AccessReadOnly:
		return held >= authorization.RoleReader
	case api.AccessWrite:
		return held >= authorization.RoleWriter
	default:
		return held >= authorization.RoleAdmin
	}
}

// typeOf returns the workflow type of the execution the call targets, asking the resolver at most
// once per call.
func (c *call) typeOf(execution *commonpb.WorkflowExecution) (string, error) {
	if c.workflowType != "" {
		return c.workflowType, nil
	}
	if c.resolver == nil {
		return "", errNoResolver
	}
	t, err := c.resolver.WorkflowType(c.ctx, c.namespace, execution.GetWorkflowId(), execution.GetRunId())
	if err != nil {
		return "", err
	}
	c.workflowType = t
	return t, nil
}

// grantOn reports whether a grant for action in the namespace covers the execution's type; it
// resolves the type only when some grant needs it. A resolution failure is a deny (fail closed),
// with the cause in the reason.
func (c *call) grantOn(action Action, execution *commonpb.WorkflowExecution) (bool, string) {
	patterns := c.grants.Patterns(c.namespace, action)
	if len(patterns) == 0 {
		return false, fmt.Sprintf("no %s grant in namespace %q", action, c.namespace)
	}
	for _, p := range patterns {
		if p == "*" {
			return true, fmt.Sprintf("%s grant for every workflow type", action)
		}
	}
	workflowType, err := c.typeOf(execution)
	if err != nil {
		return false, fmt.Sprintf("%s is granted for some workflow types only and the type of workflow %q is unknown: %v", action, execution.GetWorkflowId(), err)
	}
	if c.grants.Allows(c.namespace, action, workflowType) {
		return true, fmt.Sprintf("%s grant matches workflow type %q", action, workflowType)
	}
	return false, fmt.Sprintf("no %s grant matches workflow type %q", action, workflowType)
}

// grantOnType is grantOn for calls that carry the workflow type themselves.
func (c *call) grantOnType(action Action, workflowType string) (bool, string) {
	if c.grants.Allows(c.namespace, action, workflowType) {
		return true, fmt.Sprintf("%s grant matches workflow type %q", action, workflowType)
	}
	return false, fmt.Sprintf("no %s grant matches workflow type %q in namespace %q", action, workflowType, c.namespace)
}

// startAllowed: role write, or workflow.start on the type. A plain-text token handoff is refused
// for everyone.
func (c *call) startAllowed(req *workflowservice.StartWorkflowExecutionRequest) (bool, string) {
	if reason := plaintextHandoff(req.GetInput()); reason != "" {
		c.sensitive = true
		c.workflowID = req.GetWorkflowId()
		c.workflowType = req.GetWorkflowType().GetName()
		return false, reason
	}
	if c.roleAllows() {
		return true, ""
	}
	return c.grantOnType(ActionWorkflowStart, req.GetWorkflowType().GetName())
}

func (c *call) start() authorization.Result {
	req, ok := c.target.Request.(*workflowservice.StartWorkflowExecutionRequest)
	if !ok {
		return c.roleOnly()
	}
	if ok, reason := c.startAllowed(req); !ok {
		return deny(reason)
	}
	return allow
}

func (c *call) signalWithStart() authorization.Result {
	req, ok := c.target.Request.(*workflowservice.SignalWithStartWorkflowExecutionRequest)
	if !ok {
		return c.roleOnly()
	}
	workflowType := req.GetWorkflowType().GetName()
	c.signal = req.GetSignalName()
	if okStart, reason := c.startAllowed(&workflowservice.StartWorkflowExecutionRequest{
		WorkflowId: req.GetWorkflowId(), WorkflowType: req.GetWorkflowType(), Input: req.GetInput(),
	}); !okStart {
		return deny(reason)
	}
	if isRotateSignal(c.signal) {
		return c.rotate(req.GetSignalInput(), func() (bool, string) { return c.grantOnType(ActionTokenRotate, workflowType) })
	}
	// It may signal a running workflow instead of starting one, so it needs the signal right too.
	if c.roleAllows() {
		return allow
	}
	if ok, reason := c.grantOnType(ActionWorkflowSignal, workflowType); !ok {
		return deny(reason)
	}
	return allow
}

// multiOperation (update-with-start): each start needs the start right; each update, which may land
// on a running workflow of that type, needs what a signal needs.
func (c *call) multiOperation() authorization.Result {
	req, ok := c.target.Request.(*workflowservice.ExecuteMultiOperationRequest)
	if !ok {
		return c.roleOnly()
	}
	var workflowType string
	for _, op := range req.GetOperations() {
		if start := op.GetStartWorkflow(); start != nil {
			workflowType = start.GetWorkflowType().GetName()
			if ok, reason := c.startAllowed(start); !ok {
				return deny(reason)
			}
		}
	}
	if c.roleAllows() {
		return allow
	}
	for _, op := range req.GetOperations() {
		if update := op.GetUpdateWorkflow(); update != nil {
			if workflowType == "" {
				return deny("an update without a start in the same request needs a Temporal role")
			}
			if ok, reason := c.grantOnType(ActionWorkflowSignal, workflowType); !ok {
				return deny(reason)
			}
		}
	}
	return allow
}

// rotate decides an apiToken/apiUrl signal: token.rotate (no role implies it), and for apiToken a
// payload the codec encrypted.
func (c *call) rotate(input *commonpb.Payloads, granted func() (bool, string)) authorization.Result {
	c.sensitive = true
	if c.signal == signalAPIToken {
		if reason := unencryptedPayload(input); reason != "" {
			return deny(reason)
		}
	}
	ok, reason := granted()
	if !ok {
		return deny(reason + " (roles never imply token.rotate)")
	}
	c.allowReason = reason
	return allow
}

// relayHandoff decides a parent's handoff that its worker sends to a child over the worker's own
// connection: token.handoff on the child's type (no role implies it) and an encrypted payload. Every
// other use of the reserved prefix stays workflow-to-workflow only.
// The same rule covers both forms: the signal, and the update a child takes in one write.
func (c *call) relayHandoff(execution *commonpb.WorkflowExecution, input *commonpb.Payloads) authorization.Result {
	c.workflowID = execution.GetWorkflowId()
	if n := len(input.GetPayloads()); n != 1 {
		return deny(fmt.Sprintf("a handoff carries exactly one payload, the encrypted envelope; this one has %d", n))
	}
	if reason := unencryptedPayload(input); reason != "" {
		return deny(reason)
	}
	ok, reason := c.grantOn(ActionTokenHandoff, execution)
	if !ok {
		return deny(reason + fmt.Sprintf(" (roles never imply token.handoff; otherwise signal and update names starting with %q are reserved for workflow-to-workflow messages)", ReservedSignalPrefix))
	}
	c.allowReason = reason
	return allow
}

func (c *call) signalExisting() authorization.Result {
	req, ok := c.target.Request.(*workflowservice.SignalWorkflowExecutionRequest)
	if !ok {
		return c.roleOnly()
	}
	c.signal = req.GetSignalName()
	execution := req.GetWorkflowExecution()
	c.workflowID = execution.GetWorkflowId()
	if isRotateSignal(c.signal) {
		return c.rotate(req.GetInput(), func() (bool, string) { return c.grantOn(ActionTokenRotate, execution) })
	}
	if c.roleAllows() {
		return allow
	}
	if ok, reason := c.grantOn(ActionWorkflowSignal, execution); !ok {
		return deny(reason)
	}
	return allow
}

func (c *call) queryExisting() authorization.Result {
	req, ok := c.target.Request.(*workflowservice.QueryWorkflowRequest)
	if !ok {
		return c.roleOnly()
	}
	c.query = req.GetQuery().GetQueryType()
	execution := req.GetExecution()
	c.workflowID = execution.GetWorkflowId()
	if isRawTokenQuery(c.query) {
		c.sensitive = true
		ok, reason := c.grantOn(ActionTokenRead, execution)
		if !ok {
			return deny(reason + " (roles never imply token.read)")
		}
		c.allowReason = reason
		return allow
	}
	if c.roleAllows() {
		return allow
	}
	if ok, reason := c.grantOn(ActionWorkflowQuery, execution); !ok {
		return deny(reason)
	}
	return allow
}

type executionRequest interface {
	GetWorkflowExecution() *commonpb.WorkflowExecution
}

// executionOf reads the targeted execution of a request of type R (nil for another type).
func executionOf[R executionRequest](request any) *commonpb.WorkflowExecution {
	if r, ok := request.(R); ok {
		return r.GetWorkflowExecution()
	}
	return nil
}

func (c *call) writeExisting(action Action, execution func(any) *commonpb.WorkflowExecution) authorization.Result {
	if c.roleAllows() {
		return allow
	}
	target := execution(c.target.Request)
	if target == nil {
		return c.roleOnly()
	}
	if ok, reason := c.grantOn(action, target); !ok {
		return deny(reason)
	}
	return allow
}

// batch: a batch names workflows by a visibility query, so a type-scoped grant cannot be checked.
// Batch operations are for role holders; a batch apiToken/apiUrl signal additionally needs
// token.rotate for every workflow type (and an encrypted payload for apiToken).
func (c *call) batch() authorization.Result {
	req, ok := c.target.Request.(*workflowservice.StartBatchOperationRequest)
	if !ok {
		return c.roleOnly()
	}
	if signal := req.GetSignalOperation(); signal != nil && isRotateSignal(signal.GetSignal()) {
		c.signal = signal.GetSignal()
		return c.rotate(signal.GetInput(), func() (bool, string) {
			if !c.roleAllows() {
				return false, "a batch operation needs a Temporal role that covers it"
			}
			for _, p := range c.grants.Patterns(c.namespace, ActionTokenRotate) {
				if p == "*" {
					return true, "token.rotate grant for every workflow type"
				}
			}
			return false, "a batch signal reaches workflows of any type, so it needs token.rotate for every type (no glob)"
		})
	}
	return c.roleOnly()
}

// schedule: role holders only, and a schedule's start action must not carry a plain-text handoff
// either (it would start workflows with it in history for as long as the schedule runs).
func (c *call) schedule() authorization.Result {
	var input *commonpb.Payloads
	var workflowType string
	switch req := c.target.Request.(type) {
	case *workflowservice.CreateScheduleRequest:
		start := req.GetSchedule().GetAction().GetStartWorkflow()
		input, workflowType = start.GetInput(), start.GetWorkflowType().GetName()
		c.workflowID = start.GetWorkflowId()
	case *workflowservice.UpdateScheduleRequest:
		start := req.GetSchedule().GetAction().GetStartWorkflow()
		input, workflowType = start.GetInput(), start.GetWorkflowType().GetName()
		c.workflowID = start.GetWorkflowId()
	}
	if reason := plaintextHandoff(input); reason != "" {
		c.sensitive = true
		c.workflowType = workflowType
		return deny(reason)
	}
	c.workflowID = ""
	return c.roleOnly()
}

// poll: role write, or taskqueue.poll on the queue. A sticky queue is a worker's private cache
// queue; it is matched by the normal queue it belongs to.
func (c *call) poll() authorization.Result {
	if c.roleAllows() {
		return allow
	}
	queue := taskQueueOf(c.target.Request)
	if queue == "" {
		return deny(fmt.Sprintf("%s names no task queue", c.api))
	}
	if c.grants.Allows(c.namespace, ActionTaskQueuePoll, queue) {
		return allow
	}
	return deny(fmt.Sprintf("no taskqueue.poll grant matches task queue %q in namespace %q", queue, c.namespace))
}

func taskQueueOf(request any) string {
	var queue *taskqueuepb.TaskQueue
	switch req := request.(type) {
	case *workflowservice.PollWorkflowTaskQueueRequest:
		queue = req.GetTaskQueue()
	case *workflowservice.PollActivityTaskQueueRequest:
		queue = req.GetTaskQueue()
	case *workflowservice.PollNexusTaskQueueRequest:
		queue = req.GetTaskQueue()
	}
	if queue.GetKind() == enumspb.TASK_QUEUE_KIND_STICKY {
		return queue.GetNormalName()
	}
	return queue.GetName()
}
