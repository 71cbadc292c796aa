package authz

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"sync"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
)

// TypeResolver answers the workflow type of an execution, for type-scoped grants on calls that name
// only a workflow id (signal, query, cancel, terminate).
type TypeResolver interface {
	WorkflowType(ctx context.Context, namespace, workflowID, runID string) (string, error)
}

// errNoResolver is what type-scoped grants on id-only calls meet when no resolver is configured.
var errNoResolver = errors.New("no workflow-type resolver is configured")

// DescribeFunc is the one call the resolver needs (DescribeWorkflowExecution on some frontend).
type DescribeFunc func(ctx context.Context, req *workflowservice.DescribeWorkflowExecutionRequest) (*workflowservice.DescribeWorkflowExecutionResponse, error)

// CachingResolver asks DescribeWorkflowExecution and remembers the answer briefly. The answer for a
// run id never changes, so it is kept longer; without a run id the call targets the current run,
// which a new run of another type may replace once the old one closes, so that answer is kept only
// for currentTTL.
type CachingResolver struct {
	describe   DescribeFunc
	currentTTL time.Duration
	runTTL     time.Duration
	timeout    time.Duration
	maxEntries int
	now        func() time.Time

	mu    sync.Mutex
	cache map[resolverKey]resolverEntry
}

type resolverKey struct{ namespace, workflowID, runID string }
type resolverEntry struct {
	workflowType string
	expires      time.Time
}

// NewCachingResolver resolves with describe.
func NewCachingResolver(describe DescribeFunc) *CachingResolver {
	return &CachingResolver{
		describe:   describe,
		currentTTL: 5 * time.Second,
		runTTL:     5 * time.Minute,
		timeout:    3 * time.Second,
		maxEntries: 10_000,
		now:        time.Now,
		cache:      map[resolverKey]resolverEntry{},
	}
}

func (r *CachingResolver) WorkflowType(ctx context.Context, namespace, workflowID, runID string) (string, error) {
	if workflowID == "" {
		return "", errors.New("the request names no workflow id")
	}
	key := resolverKey{namespace, workflowID, runID}
	now := r.now()
	r.mu.Lock()
	entry, ok := r.cache[key]
	r.mu.Unlock()
	if ok && now.Before(entry.expires) {
		return entry.workflowType, nil
	}
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	resp, err := r.describe(ctx, &workflowservice.DescribeWorkflowExecutionRequest{
		Namespace: namespace,
		Execution: &commonpb.WorkflowExecution{WorkflowId: workflowID, RunId: runID},
	})
	if err != nil {
		return "", fmt.Errorf("cannot resolve the workflow type: %w", err)
	}
	workflowType := resp.GetWorkflowExecutionInfo().GetType().GetName()
	if workflowType == "" {
		return "", errors.New("cannot resolve the workflow type: the server returned none")
	}
	ttl := r.currentTTL
	if runID != "" {
		ttl = r.runTTL
	}
	r.mu.Lock()
	if len(r.cache) >= r.maxEntries {
		// Crude but bounded: a burst of distinct ids costs a refetch, never unbounded memory.
		clear(r.cache)
	}
	r.cache[key] = resolverEntry{workflowType: workflowType, expires: now.Add(ttl)}
	r.mu.Unlock()
	return workflowType, nil
}

// InternalFrontendDialer connects lazily (on the first resolution) to the server's internal-frontend,
// whose claim mapper treats every caller as the system, with the internode client TLS settings.
type InternalFrontendDialer struct {
	Address string
	// TLS returns the internode client TLS config; nil config means plaintext (no internode TLS).
	TLS func() (*tls.Config, error)

	mu     sync.Mutex
	client workflowservice.WorkflowServiceClient
}

func (d *InternalFrontendDialer) Describe(ctx context.Context, req *workflowservice.DescribeWorkflowExecutionRequest) (*workflowservice.DescribeWorkflowExecutionResponse, error) {
	client, err := d.connect()
	if err != nil {
		return nil, err
	}
	return client.DescribeWorkflowExecution(ctx, req)
}

func (d *InternalFrontendDialer) connect() (workflowservice.WorkflowServiceClient, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.client != nil {
		return d.client, nil
	}
	if d.Address == "" {
		return nil, errNoResolver
	}
	creds := insecure.NewCredentials()
	if d.TLS != nil {
		cfg, err := d.TLS()
		if err != nil {
			return nil, fmt.Errorf("internode TLS settings: %w", err)
		}
		if cfg != nil {
			creds = credentials.NewTLS(cfg)
		}
	}
	conn, err := grpc.NewClient(d.Address, grpc.WithTransportCredentials(creds))
	if err != nil {
		return nil, fmt.Errorf("cannot dial internal-frontend at %s: %w", d.Address, err)
	}
	d.client = workflowservice.NewWorkflowServiceClient(conn)
	return d.client, nil
}
