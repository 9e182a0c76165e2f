import { fileURLToPath } from 'node:url';
import path from 'node:path';

/** The package root (where package.json and models/ live), independent of the working directory. */
export const PACKAGE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const SHIPPED_MODELS_DIR = path.join(PACKAGE_ROOT, 'models');
export const DEFAULT_GLOW_MODEL = path.join(SHIPPED_MODELS_DIR, 'glow-celeba64');
export const DEFAULT_DCGAN_MODEL = path.join(SHIPPED_MODELS_DIR, 'dcgan-celeba64');
