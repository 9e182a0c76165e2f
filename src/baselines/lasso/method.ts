import { initEngine } from '../../engine/index.ts';
import { ValidationError } from '../../errors.ts';
import type { BaselineMethod, MethodOptions } from '../../methods/types.ts';
import type { ImageShape } from '../../models/prior.ts';
import type { OperatorCache } from '../../physics/cache.ts';
import type { LinearOperator } from '../../physics/operator.ts';
import { createOperator, operatorKey } from '../../physics/registry.ts';
import type { Problem, SolveResult } from '../../solvers/types.ts';
import { imageShapeOf } from '../options.ts';
import { checkGroundTruths, clip01, scoreAgainstTruth } from '../result.ts';
import type { SparsityBasis } from './basis.ts';
import { createDctBasis } from './dct.ts';
import { solveLassoBatch, type FistaOptions } from './fista.ts';
import { createHaarBasis } from './haar.ts';
import { chooseLambdas, REFERENCE_LAMBDA } from './lambda.ts';

/**
 * Default relative duality gap at which a lasso problem counts as solved. The gap bound is loose: on 64×64 faces at
 * m = 2500 the objective is already within 10⁻⁵ of its optimum (and the image settled) when the gap reaches 10⁻².
 */
export const DEFAULT_LASSO_TOLERANCE = 1e-2;

/** Light checks that need no operator; solveBatch validates the operator spec against the image shape. */
function checkLassoProblem(problem: Problem): void {
  const y = problem.measurements;
  if (!(y instanceof Float32Array) || y.length === 0) throw new ValidationError('measurements', 'must be a non-empty Float32Array');
  for (let i = 0; i < y.length; i++) {
    if (!Number.isFinite(y[i])) throw new ValidationError('measurements', `value ${i} is not finite`);
  }
  if (problem.operator.type === 'gaussian' && problem.operator.m !== y.length) {
    throw new ValidationError('measurements', `the operator takes ${problem.operator.m} measurements, got ${y.length}`);
  }
}

function lambdaOption(options: MethodOptions): number | 'auto' {
  const lambda = options.lambda ?? REFERENCE_LAMBDA;
  if (lambda !== 'auto' && !(typeof lambda === 'number' && Number.isFinite(lambda) && lambda >= 0)) {
    throw new ValidationError('lambda', `must be a finite number ≥ 0 or 'auto', got ${JSON.stringify(lambda)}`);
  }
  return lambda;
}

/**
 * Each distinct operator once (problems with equal specs share it: one group in the batched solve), borrowed from
 * the caller's cache when there is one. `release` gives them back or disposes them.
 */
function operatorsFor(
  problems: Problem[],
  imageShape: ImageShape,
  cache: OperatorCache | undefined,
): { perProblem: LinearOperator[]; release: () => void } {
  const byKey = new Map<string, { op: LinearOperator; release: () => void }>();
  const release = () => {
    for (const e of byKey.values()) e.release();
  };
  const perProblem: LinearOperator[] = [];
  try {
    for (const p of problems) {
      const key = operatorKey(p.operator);
      let entry = byKey.get(key);
      if (!entry) {
        if (cache) {
          const lease = cache.acquire(p.operator, imageShape);
          entry = { op: lease.op, release: lease.release };
        } else {
          const op = createOperator(p.operator, imageShape);
          entry = { op, release: () => op.dispose() };
        }
        byKey.set(key, entry);
      }
      if (entry.op.m !== p.measurements.length) {
        throw new ValidationError('measurements', `the operator takes ${entry.op.m} measurements, got ${p.measurements.length}`);
      }
      perProblem.push(entry.op);
    }
  } catch (err) {
    release();
    throw err;
  }
  return { perProblem, release };
}

/**
 * Lasso in an orthonormal basis:  min_c ‖y − A·Ψc‖² + λ‖c‖₁,  x̂ = clip(Ψĉ, 0, 1).
 * λ: options.lambda, 'auto' (hold-out choice), or by default the reference's effective value (lambda.ts).
 */
export function createLassoMethod(name: 'lasso-dct' | 'lasso-wvt', makeBasis: (shape: ImageShape) => SparsityBasis): BaselineMethod {
  return {
    name,
    check: checkLassoProblem,
    async solveBatch(problems: Problem[], options: MethodOptions): Promise<SolveResult[]> {
      problems.forEach(checkLassoProblem);
      const lambdaSetting = lambdaOption(options);
      if (!(Number.isInteger(options.maxEvaluations) && options.maxEvaluations > 0)) {
        throw new ValidationError('maxEvaluations', `must be a positive integer, got ${options.maxEvaluations}`);
      }
      if (problems.length === 0) return [];
      await initEngine();
      const started = performance.now();
      const imageShape = imageShapeOf(options);
      checkGroundTruths(problems, imageShape);
      const { perProblem, release } = operatorsFor(problems, imageShape, options.operatorCache);
      const basis = makeBasis(imageShape);
      try {
        const fista: FistaOptions = {
          maxEvaluations: options.maxEvaluations,
          tolerance: options.tolerance ?? DEFAULT_LASSO_TOLERANCE,
          seed: 0,
          onProgress: options.onProgress,
          isCancelled: options.isCancelled,
        };
        const lambdas =
          lambdaSetting === 'auto'
            ? (
                await chooseLambdas(
                  problems.map((p, i) => ({ operator: perProblem[i], measurements: p.measurements, seed: p.seed })),
                  basis,
                  fista,
                )
              ).map((c) => c.lambda)
            : problems.map(() => lambdaSetting);
        const solutions = await solveLassoBatch(
          problems.map((p, i) => ({ operator: perProblem[i], measurements: p.measurements, lambda: lambdas[i] })),
          basis,
          fista,
        );
        const wallMs = performance.now() - started;
        return solutions.map((s, i) => {
          const image = clip01(s.image);
          return {
            image,
            z: new Float32Array(0),
            loss: s.objective,
            dataFit: s.dataFit,
            zNorm: 0,
            iterations: s.iterations,
            evaluations: s.evaluations,
            stopReason: s.stopReason,
            diverged: s.diverged,
            wallMs,
            ...scoreAgainstTruth(image, problems[i].groundTruth, imageShape),
          };
        });
      } finally {
        basis.dispose();
        release();
      }
    },
  };
}

export const lassoDct: BaselineMethod = createLassoMethod('lasso-dct', createDctBasis);
export const lassoWvt: BaselineMethod = createLassoMethod('lasso-wvt', createHaarBasis);
