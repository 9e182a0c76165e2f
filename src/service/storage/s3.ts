import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { Readable } from 'node:stream';
import { NotFoundError, StorageError } from '../../errors.ts';
import type { S3Config } from '../config.ts';
import type { ResultStore, StoredObject } from './types.ts';

interface AwsError {
  name?: string;
  Code?: string;
  $metadata?: { httpStatusCode?: number };
  message?: string;
}

function statusOf(e: unknown): number | undefined {
  return (e as AwsError)?.$metadata?.httpStatusCode;
}

function isNotFound(e: unknown): boolean {
  const err = e as AwsError;
  return statusOf(e) === 404 || err?.name === 'NoSuchKey' || err?.name === 'NotFound' || err?.name === 'NoSuchBucket';
}

function describe(e: unknown): string {
  const err = e as AwsError;
  const status = statusOf(e);
  return `${err?.name ?? 'Error'}${status ? ` (HTTP ${status})` : ''}: ${err?.message ?? String(e)}`;
}

function clientConfig(cfg: S3Config, endpoint: string | null): S3ClientConfig {
  return {
    region: cfg.region,
    ...(endpoint ? { endpoint } : {}),
    // MinIO and Ceph RGW serve buckets by path, and corrupt streamed uploads with the SDK's default checksums.
    forcePathStyle: true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: 2,
    requestHandler: { connectionTimeout: 3000, requestTimeout: 30_000 },
    ...(cfg.accessKey && cfg.secretKey
      ? { credentials: { accessKeyId: cfg.accessKey, secretAccessKey: cfg.secretKey } }
      : {}),
  };
}

/** S3 (AWS, MinIO, Ceph RGW) through the AWS SDK v3. */
export class S3ResultStore implements ResultStore {
  readonly kind = 's3' as const;
  readonly bucket: string;
  private readonly client: S3Client;
  /** Signs URLs for the endpoint clients can reach, which may differ from the one this process uses. */
  private readonly signer: S3Client;
  private readonly presignSeconds: number;

  constructor(cfg: S3Config) {
    this.bucket = cfg.bucket;
    this.presignSeconds = cfg.presignSeconds;
    this.client = new S3Client(clientConfig(cfg, cfg.endpoint));
    this.signer = cfg.publicEndpoint ? new S3Client(clientConfig(cfg, cfg.publicEndpoint)) : this.client;
  }

  async init(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
      return;
    } catch (e) {
      if (!isNotFound(e)) throw new StorageError(`bucket ${this.bucket} unavailable: ${describe(e)}`);
    }
    try {
      await this.client.send(new CreateBucketCommand({ Bucket: this.bucket }));
    } catch (e) {
      const name = (e as AwsError).name;
      if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') {
        throw new StorageError(`cannot create bucket ${this.bucket}: ${describe(e)}`);
      }
    }
  }

  async put(key: string, body: Uint8Array | string, contentType: string): Promise<void> {
    try {
      await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body, ContentType: contentType }));
    } catch (e) {
      throw new StorageError(`cannot write ${key}: ${describe(e)}`);
    }
  }

  async stream(key: string): Promise<StoredObject> {
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      if (!out.Body) throw new StorageError(`${key}: empty response`);
      return { stream: out.Body as Readable, contentType: out.ContentType ?? null, length: out.ContentLength ?? null };
    } catch (e) {
      if (e instanceof StorageError) throw e;
      if (isNotFound(e)) throw new NotFoundError(`${key} does not exist`);
      throw new StorageError(`cannot read ${key}: ${describe(e)}`);
    }
  }

  async get(key: string): Promise<Buffer> {
    const { stream } = await this.stream(key);
    const chunks: Buffer[] = [];
    try {
      for await (const c of stream) chunks.push(Buffer.from(c as Uint8Array));
    } catch (e) {
      throw new StorageError(`cannot read ${key}: ${describe(e)}`);
    }
    return Buffer.concat(chunks);
  }

  async exists(key: string): Promise<boolean> {
    try {
      await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return true;
    } catch (e) {
      if (isNotFound(e)) return false;
      throw new StorageError(`cannot stat ${key}: ${describe(e)}`);
    }
  }

  async delete(key: string): Promise<void> {
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
    } catch (e) {
      if (!isNotFound(e)) throw new StorageError(`cannot delete ${key}: ${describe(e)}`);
    }
  }

  async presign(key: string): Promise<string> {
    try {
      return await getSignedUrl(this.signer, new GetObjectCommand({ Bucket: this.bucket, Key: key }), {
        expiresIn: this.presignSeconds,
      });
    } catch (e) {
      throw new StorageError(`cannot sign a URL for ${key}: ${describe(e)}`);
    }
  }

  async ping(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
    } catch (e) {
      throw new StorageError(`bucket ${this.bucket} unreachable: ${describe(e)}`);
    }
  }

  async close(): Promise<void> {
    this.client.destroy();
    if (this.signer !== this.client) this.signer.destroy();
  }
}
