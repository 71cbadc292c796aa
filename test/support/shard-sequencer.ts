// vitest's `--shard i/n`, split by expected running time instead of by hashed file name.
import { BaseSequencer, type TestSpecification } from 'vitest/node';
import { expectedSeconds, splitByTime } from './shard-split.js';

export default class ShardByTimeSequencer extends BaseSequencer {
  override async shard(files: TestSpecification[]): Promise<TestSpecification[]> {
    const { index, count } = this.ctx.config.shard!;
    const weighted = files.map((spec) => ({
      spec,
      path: spec.moduleId,
      seconds: expectedSeconds(spec.moduleId),
    }));
    const mine = new Set(splitByTime(weighted, count)[index - 1]!.map((f) => f.path));
    return files.filter((spec) => mine.has(spec.moduleId));
  }
}
