package authz

import (
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/server/common/log"
)

func noopLogger() log.Logger { return log.NewNoopLogger() }

// workflowServiceMethods lists every method of the WorkflowService proto this build compiles
// against, including ones Temporal's metadata table does not know.
func workflowServiceMethods() []string {
	service := workflowservice.File_temporal_api_workflowservice_v1_service_proto.Services().ByName("WorkflowService")
	methods := service.Methods()
	out := make([]string, methods.Len())
	for i := range methods.Len() {
		out[i] = string(methods.Get(i).Name())
	}
	return out
}
