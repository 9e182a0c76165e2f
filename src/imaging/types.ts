/** A raster image at the edges of the system: HWC float32 in [0,1]; index = (row·width + col)·channels + channel. */
export interface RasterImage {
  data: Float32Array;
  width: number;
  height: number;
  channels: number;
}

export function rasterFromShape(data: Float32Array, shape: readonly [number, number, number]): RasterImage {
  const [height, width, channels] = shape;
  if (data.length !== height * width * channels) {
    throw new RangeError(`image data has ${data.length} values, shape ${height}×${width}×${channels} needs ${height * width * channels}`);
  }
  return { data, width, height, channels };
}
