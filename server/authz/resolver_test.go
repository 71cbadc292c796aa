package authz

import (
	"context"
	"errors"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/server/common/api"
	"go.temporal.io/server/common/authorization"
)

func targetOf(method string, req any) *authorization.CallTarget {
	return &authorization.CallTarget{APIName: api.WorkflowServicePrefix + method, Namespace: "default", Request: req}
}

func TestCachingResolver(t *testing.T) {
	calls := 0
	types := map[string]string{"w1": "inventorySync"}
	r := NewCachingResolver(func(_ context.Context, req *workflowservice.DescribeWorkflowExecutionRequest) (*workflowservice.DescribeWorkflowExecutionResponse, error) {
		calls++
		name, ok := types[req.GetExecution().GetWorkflowId()]
		if !ok {
			return nil, errors.New("not found")
		}
		return &workflowservice.DescribeWorkflowExecutionResponse{WorkflowExecutionInfo: &workflowpb.WorkflowExecutionInfo{Type: &commonpb.WorkflowType{Name: name}}}, nil
	})
	now := time.Unix(100, 0)
	r.now = func() time.Time { return now }

	for range 3 {
		if got, err := r.WorkflowType(context.Background(), "default", "w1", ""); err != nil || got != "inventorySync" {
			t.Fatalf("%q %v", got, err)
		}
	}
	if calls != 1 {
		t.Fatalf("%d describe calls, want 1 (cached)", calls)
	}
	// The current run may be replaced by a run of another type: a short TTL.
	types["w1"] = "billingRun"
	now = now.Add(6 * time.Second)
	if got, _ := r.WorkflowType(context.Background(), "default", "w1", ""); got != "billingRun" || calls != 2 {
		t.Fatalf("got %q after TTL, %d calls", got, calls)
	}
	// Failures are not cached and fail closed.
	for range 2 {
		if _, err := r.WorkflowType(context.Background(), "default", "gone", ""); err == nil {
			t.Fatal("resolved a missing workflow")
		}
	}
	if calls != 4 {
		t.Fatalf("%d calls, failures must not be cached", calls)
	}
	if _, err := r.WorkflowType(context.Background(), "default", "", ""); err == nil {
		t.Fatal("resolved an empty workflow id")
	}
}

func TestDialerWithoutAddressFailsClosed(t *testing.T) {
	d := &InternalFrontendDialer{}
	if _, err := d.Describe(context.Background(), &workflowservice.DescribeWorkflowExecutionRequest{}); !errors.Is(err, errNoResolver) {
		t.Fatalf("err %v", err)
	}
}
