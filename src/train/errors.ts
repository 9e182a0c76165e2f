/** A training run cannot start as asked (bad option combination, data that does not fit the model, memory). */
export class TrainSetupError extends Error {
  override name = 'TrainSetupError';
}
