/** The throughput workflow's one activity: no work, so the figure is the platform's cost alone. */
export const benchActivities = {
  async noop(): Promise<void> {},
};
