export { psnr, mseClipped } from './psnr.ts';
export { ssim, type SsimOptions } from './ssim.ts';
