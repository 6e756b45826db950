import * as http from 'node:http';
import { LOCALHOST } from './net';

export interface HttpResult {
  status: number;
  contentType: string;
  body: string;
}

/** GET http://127.0.0.1:<port><path>. */
export function httpGet(port: number, path: string): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: LOCALHOST, port, path }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            contentType: String(res.headers['content-type'] ?? ''),
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
      })
      .on('error', reject);
  });
}

/** The value of one stat from /stats?format=json (undefined when absent). */
export async function adminStat(port: number, name: string): Promise<number | undefined> {
  const { body } = await httpGet(port, '/stats?format=json');
  const stats = (JSON.parse(body) as { stats: { name: string; value: number }[] }).stats;
  return stats.find((s) => s.name === name)?.value;
}
