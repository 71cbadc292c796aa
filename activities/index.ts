import { Context } from '@temporalio/activity';

/** Proves the activity ran on a worker that got past mTLS and the JWT authorizer. */
export async function describeCaller(name: string): Promise<string> {
  const info = Context.current().info;
  return `hello ${name} from ${info.activityType} in namespace ${info.workflowNamespace}`;
}
