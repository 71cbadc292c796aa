import { describe, expect, it } from 'vitest';
import { persistenceRequests, sumMetricText } from '../../support/metrics.js';

const scrape = [
  '# HELP persistence_requests persistence_requests counter',
  '# TYPE persistence_requests counter',
  'persistence_requests{namespace="default",operation="UpdateWorkflowExecution",service_name="history"} 28370',
  'persistence_requests{namespace="default",operation="UpdateTaskQueue",service_name="matching"} 29',
  'persistence_requests{namespace="temporal_system",operation="UpdateWorkflowExecution",service_name="history"} 1237',
  'persistence_requests{namespace="default.x",operation="UpdateWorkflowExecution",service_name="history"} 5',
  'persistence_requests{operation="UpdateWorkflowExecution",namespace="default",service_name="frontend"} 2',
  'service_requests{operation="SignalWorkflowExecution"} 7',
].join('\n');

describe('sumMetricText', () => {
  it('adds the values of every matching sample and skips comments', () => {
    expect(sumMetricText(scrape, /^service_requests\{/)).toBe(7);
    expect(sumMetricText(scrape, /^persistence_requests\{/)).toBe(28370 + 29 + 1237 + 5 + 2);
    expect(sumMetricText(scrape, /^persistence_requests /)).toBe(0);
  });
});

describe('persistenceRequests', () => {
  it('matches one namespace and operation whatever the label order, and no other namespace', () => {
    expect(sumMetricText(scrape, persistenceRequests('default', 'UpdateWorkflowExecution'))).toBe(28370 + 2);
    expect(sumMetricText(scrape, persistenceRequests('default.x', 'UpdateWorkflowExecution'))).toBe(5);
    expect(sumMetricText(scrape, persistenceRequests('temporal_system', 'UpdateTaskQueue'))).toBe(0);
  });
});
