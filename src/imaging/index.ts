export type { RasterImage } from './types.ts';
export { rasterFromShape } from './types.ts';
export { decodeImage, decodeImageTo, DEFAULT_DECODE_LIMITS } from './decode.ts';
export type { DecodeLimits, DecodeOptions, DecodedImage } from './decode.ts';
export { encodePng, toUint8 } from './encode.ts';
export { composePanel, encodePanelPng, resampleNearest } from './panel.ts';
export type { PanelOptions } from './panel.ts';
