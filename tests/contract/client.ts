// A typed client over the types openapi-typescript generates from api-spec/openapi.yaml
// (scripts/contract-test.sh writes them to generated/csrd.d.ts and compiles this file with
// tsc --strict). It uses the operations a front end needs, so a spec change that would break
// such a client (a renamed field, a removed status, a changed enum) breaks CI here.
import type { components, paths } from './generated/csrd';

type Schemas = components['schemas'];
type JsonBody<Op> = Op extends { requestBody?: { content: { 'application/json': infer B } } } ? B : never;
type JsonAnswer<Op, Code extends number> = Op extends {
  responses: { [K in Code]: { content: { 'application/json': infer R } } };
} ? R : never;

type CreateCustomer = paths['/v1/customers']['post'];
type ListCustomers = paths['/v1/customers']['get'];
type Transition = paths['/v1/complaints/{id}/transitions']['post'];
type Completion = paths['/v1/follow-ups/{id}/completion']['post'];

export class CsrdError extends Error {
  constructor(readonly status: number, readonly problem: Schemas['Problem']) {
    super(`${status} ${problem.title}${problem.detail ? ': ' + problem.detail : ''}`);
  }
}

export class Csrd {
  constructor(private readonly base: string, private readonly token: string) {}

  private async call<T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}):
      Promise<{ data: T; etag: string | null; location: string | null }> {
    const res = await fetch(this.base + path, {
      method,
      headers: { Authorization: `Bearer ${this.token}`, ...(body ? { 'Content-Type': 'application/json' } : {}), ...headers },
      body: body ? JSON.stringify(body) : undefined,
    });
    if (!res.ok) throw new CsrdError(res.status, (await res.json()) as Schemas['Problem']);
    return { data: (await res.json()) as T, etag: res.headers.get('ETag'), location: res.headers.get('Location') };
  }

  createCustomer(input: JsonBody<CreateCustomer>, idempotencyKey: string) {
    return this.call<JsonAnswer<CreateCustomer, 201>>('POST', '/v1/customers', input, { 'Idempotency-Key': idempotencyKey });
  }

  async searchCustomers(q: string): Promise<Schemas['Customer'][]> {
    const page = await this.call<JsonAnswer<ListCustomers, 200>>('GET', `/v1/customers?q=${encodeURIComponent(q)}`);
    return page.data.data;
  }

  moveComplaint(id: string, etag: string, body: JsonBody<Transition>) {
    return this.call<JsonAnswer<Transition, 200>>('POST', `/v1/complaints/${id}/transitions`, body, { 'If-Match': etag });
  }

  completeFollowUp(id: string, body: JsonBody<Completion>) {
    return this.call<JsonAnswer<Completion, 200>>('POST', `/v1/follow-ups/${id}/completion`, body);
  }
}

// What a front end writes against these types; none of it runs, all of it must compile.
export async function example(api: Csrd): Promise<string> {
  const created = await api.createCustomer({ kind: 'person', name: '张伟', email: 'zhang.wei@example.cn' }, crypto.randomUUID());
  const customer: Schemas['Customer'] = created.data;
  const found = await api.searchCustomers('김민준');
  const next: Schemas['ComplaintStatus'] = 'acknowledged';
  const moved = await api.moveComplaint('id', created.etag ?? '"1"', { to: next, note: 'called back' });
  const status: Schemas['ComplaintStatus'] = moved.data.status;
  const done = await api.completeFollowUp('id', { satisfaction: 5, nps: 9, issue_resolved: true });
  return `${customer.id} ${customer.version} ${found.length} ${status} ${done.data.status} ${done.data.completed_at ?? ''}`;
}
