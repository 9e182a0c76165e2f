// Generative priors: Glow and DCGAN, their checkpoint import and the model directory format.
export type { ImageShape, LatentPrior } from './prior.ts';
export { Glow } from './glow/glow.ts';
export { latentDim, latentShapes, levelGeometry, validateGlowConfig, type GlowConfig, type LatentShape, type SqueezeVariant } from './glow/config.ts';
export { glowBitsPerDim, glowDecode, glowEncode, glowInitActNorm, glowLogProb, prepareGlowDecoder, type EncodeResult } from './glow/flow.ts';
export { checkGlowParams, countGlowParams, glowParamShapes, type GlowParams } from './glow/params.ts';
export { createRandomGlow, glowConfig, initialGlowParams, randomGlowParams } from './glow/random_glow.ts';
export { importGlowip, readGlowipCheckpoint } from './glow/import_glowip.ts';
export { DcganGenerator, dcganForward, type DcganParams } from './dcgan/generator.ts';
export { dcganConfig, type DcganConfig } from './dcgan/config.ts';
export { createRandomDcgan, randomDcganParams } from './dcgan/random_dcgan.ts';
export { importDcgan, readDcganCheckpoint } from './dcgan/import_dcgan.ts';
export { loadModel, readModelConfig, readModelDir, saveModel, savePrior, ModelFormatError, type ModelConfigFile, type ModelKind, type ModelMetadata, type Prior } from './store.ts';
export { runImportCommand, IMPORT_USAGE } from './import_command.ts';
export { readTorchCheckpoint, readTorchStateDict, type TorchTensor } from './torch/checkpoint.ts';
export { decodeSafetensors, encodeSafetensors } from './safetensors.ts';
export type { TensorData, TensorRecord, WeightArrays } from './tensor_data.ts';
