import { GraphError } from './errors.ts'

/**
 * The OData subset Graph's directory collections take: a `$filter` parser and evaluator, `$select`, `$top`,
 * `$skiptoken`, `$count`. Filters are evaluated against the wire object, so a property filters exactly as it reads.
 * Which properties accept which operators is per entity (api-shapes §5.2, §5.3; graph-docs "Advanced queries").
 */

export type Literal = string | boolean | number | null

export type FilterNode =
  | { k: 'and' | 'or'; l: FilterNode; r: FilterNode }
  | { k: 'not'; e: FilterNode }
  | { k: 'cmp'; op: 'eq' | 'ne' | 'gt' | 'ge' | 'lt' | 'le'; prop: string; value: Literal }
  | { k: 'in'; prop: string; values: Literal[] }
  | { k: 'fn'; fn: string; prop: string; value: Literal }
  | { k: 'lambda'; fn: 'any' | 'all'; prop: string; inner: FilterNode | null }

/** The lambda variable, after parsing (`c` in `servicePrincipalNames/any(c:c eq 'x')`). */
const IT = '$it'

export interface FilterableProperty {
  kind: 'string' | 'boolean' | 'collection'
  /** `eq` (and `in`), `startswith`; for collections the operators allowed inside `any()`. */
  ops: readonly ('eq' | 'startswith')[]
}

export interface EntitySchema {
  /** `servicePrincipal`: the type name in `microsoft.graph.{type}`. */
  type: string
  /** `ServicePrincipal`: the resource name in Request_UnsupportedQuery texts. */
  resource: string
  /** Every wire property, in wire order (for `$select` and for telling unknown from unfilterable). */
  properties: readonly string[]
  filterable: Readonly<Record<string, FilterableProperty>>
}

type Token =
  | { t: 'str'; v: string; at: number }
  | { t: 'num'; v: number; at: number }
  | { t: 'id'; v: string; at: number }
  | { t: 'punct'; v: '(' | ')' | ',' | ':' | '/'; at: number }

const bad = (detail: string) => new GraphError('InvalidFilter', {}, detail)

function tokenize(s: string): Token[] {
  const out: Token[] = []
  let i = 0
  while (i < s.length) {
    const ch = s[i] as string
    if (/\s/.test(ch)) {
      i++
      continue
    }
    if (ch === "'") {
      let v = ''
      let j = i + 1
      for (;;) {
        if (j >= s.length) throw bad(`unterminated string at ${i}`)
        if (s[j] === "'") {
          if (s[j + 1] === "'") {
            v += "'"
            j += 2
            continue
          }
          break
        }
        v += s[j]
        j++
      }
      out.push({ t: 'str', v, at: i })
      i = j + 1
      continue
    }
    if (ch === '(' || ch === ')' || ch === ',' || ch === ':' || ch === '/') {
      out.push({ t: 'punct', v: ch, at: i })
      i++
      continue
    }
    const num = /^-?\d+(\.\d+)?(?![\w-])/.exec(s.slice(i))
    if (num) {
      out.push({ t: 'num', v: Number(num[0]), at: i })
      i += num[0].length
      continue
    }
    const id = /^[A-Za-z_$@][\w.$@]*/.exec(s.slice(i))
    if (id) {
      out.push({ t: 'id', v: id[0], at: i })
      i += id[0].length
      continue
    }
    throw bad(`unexpected '${ch}' at ${i}`)
  }
  return out
}

const COMPARE = new Set(['eq', 'ne', 'gt', 'ge', 'lt', 'le'])

/** Parses a `$filter` expression; throws Request_BadRequest "Invalid filter clause" on a syntax error. */
export function parseFilter(text: string): FilterNode {
  const toks = tokenize(text)
  let p = 0
  const peek = (): Token | undefined => toks[p]
  const isKw = (t: Token | undefined, kw: string) => t?.t === 'id' && t.v.toLowerCase() === kw
  const isPunct = (t: Token | undefined, v: string) => t?.t === 'punct' && t.v === v
  const expectPunct = (v: string) => {
    if (!isPunct(peek(), v)) throw bad(`expected '${v}' at token ${p}`)
    p++
  }
  let lambdaVar: string | null = null

  const literal = (): Literal => {
    const t = peek()
    if (!t) throw bad('expected a literal')
    p++
    if (t.t === 'str' || t.t === 'num') return t.v
    if (t.t === 'id') {
      const v = t.v.toLowerCase()
      if (v === 'true') return true
      if (v === 'false') return false
      if (v === 'null') return null
    }
    throw bad(`expected a literal at ${t.at}`)
  }

  /** A property path; the lambda variable becomes IT. */
  const path = (first: string): string => {
    let name = lambdaVar !== null && first === lambdaVar ? IT : first
    while (isPunct(peek(), '/') && toks[p + 1]?.t === 'id' && !isPunct(toks[p + 2], '(')) {
      name += `/${(toks[p + 1] as { v: string }).v}`
      p += 2
    }
    return name
  }

  const primary = (): FilterNode => {
    const t = peek()
    if (!t) throw bad('unexpected end')
    if (isPunct(t, '(')) {
      p++
      const e = expr()
      expectPunct(')')
      return e
    }
    if (t.t !== 'id') throw bad(`unexpected token at ${t.at}`)
    if (isKw(t, 'not')) {
      p++
      return { k: 'not', e: primary() }
    }
    p++
    // function call: startswith(prop,'x'), endswith(...), contains(...)
    if (isPunct(peek(), '(')) {
      p++
      const a = peek()
      if (a?.t !== 'id') throw bad('expected a property as first function argument')
      p++
      const prop = path(a.v)
      expectPunct(',')
      const value = literal()
      expectPunct(')')
      return { k: 'fn', fn: t.v.toLowerCase(), prop, value }
    }
    const prop = path(t.v)
    // lambda: prop/any(x:...) or prop/all(x:...)
    if (isPunct(peek(), '/')) {
      p++
      const fnTok = peek()
      const fn = fnTok?.t === 'id' ? fnTok.v.toLowerCase() : ''
      if (fn !== 'any' && fn !== 'all') throw bad('expected any or all')
      p++
      expectPunct('(')
      if (isPunct(peek(), ')')) {
        p++
        return { k: 'lambda', fn, prop, inner: null }
      }
      const v = peek()
      if (v?.t !== 'id') throw bad('expected a lambda variable')
      p++
      expectPunct(':')
      if (lambdaVar !== null) throw bad('nested lambda')
      lambdaVar = v.v
      const inner = expr()
      lambdaVar = null
      expectPunct(')')
      return { k: 'lambda', fn, prop, inner }
    }
    const op = peek()
    if (op?.t === 'id' && COMPARE.has(op.v.toLowerCase())) {
      p++
      return { k: 'cmp', op: op.v.toLowerCase() as 'eq', prop, value: literal() }
    }
    if (isKw(op, 'in')) {
      p++
      expectPunct('(')
      const values = [literal()]
      while (isPunct(peek(), ',')) {
        p++
        values.push(literal())
      }
      expectPunct(')')
      return { k: 'in', prop, values }
    }
    throw bad(`expected an operator after '${prop}'`)
  }

  const conj = (): FilterNode => {
    let l = primary()
    while (isKw(peek(), 'and')) {
      p++
      l = { k: 'and', l, r: primary() }
    }
    return l
  }
  const expr = (): FilterNode => {
    let l = conj()
    while (isKw(peek(), 'or')) {
      p++
      l = { k: 'or', l, r: conj() }
    }
    return l
  }

  if (toks.length === 0) throw bad('empty filter')
  const node = expr()
  if (p !== toks.length) throw bad(`trailing input at token ${p}`)
  return node
}

/** Graph's operator names in "Unsupported property filter clause operator '…'". */
const OPERATOR_NAMES: Record<string, string> = {
  eq: 'EqualsMatch',
  ne: 'NotEqualsMatch',
  gt: 'GreaterThan',
  ge: 'GreaterThanEquals',
  lt: 'LessThan',
  le: 'LessThanEquals',
  in: 'In',
  not: 'Not',
  startswith: 'StartsWithMatch',
  endswith: 'EndsWithMatch',
  contains: 'ContainsMatch',
  all: 'All',
}

type Pred = (o: Readonly<Record<string, unknown>>) => boolean

const norm = (v: unknown) => (typeof v === 'string' ? v.toLowerCase() : v)
/** Directory string comparisons are case-insensitive. */
const equal = (a: unknown, b: Literal) => norm(a) === norm(b)
const startsWith = (a: unknown, b: Literal) =>
  typeof a === 'string' && typeof b === 'string' && a.toLowerCase().startsWith(b.toLowerCase())

/** Checks a parsed filter against an entity's schema and turns it into a predicate over wire objects. */
export function compileFilter(node: FilterNode, schema: EntitySchema): Pred {
  const lookup = (prop: string): { name: string; spec: FilterableProperty } => {
    const name = schema.properties.find((p) => p.toLowerCase() === prop.toLowerCase())
    if (!name) throw new GraphError('UnknownFilterProperty', { property: prop, type: schema.type })
    const spec = schema.filterable[name]
    if (!spec) throw new GraphError('UnsupportedFilterProperty', { property: name, resource: schema.resource })
    return { name, spec }
  }
  const unsupportedOp = (op: string) =>
    new GraphError('UnsupportedFilterOperator', { operator: OPERATOR_NAMES[op] ?? op })
  const checkLiteral = (spec: { kind: string }, v: Literal, prop: string) => {
    const ok = v === null || (spec.kind === 'boolean' ? typeof v === 'boolean' : typeof v === 'string')
    if (!ok) throw bad(`literal ${JSON.stringify(v)} does not fit ${prop}`)
  }

  /** Inside a lambda: conditions on the element (`c eq 'x'`, `startswith(c,'x')`). */
  const element = (n: FilterNode, spec: FilterableProperty, prop: string): ((v: unknown) => boolean) => {
    switch (n.k) {
      case 'and':
      case 'or': {
        const l = element(n.l, spec, prop)
        const r = element(n.r, spec, prop)
        return n.k === 'and' ? (v) => l(v) && r(v) : (v) => l(v) || r(v)
      }
      case 'cmp':
        if (n.prop !== IT) throw bad('lambda condition must test the lambda variable')
        if (n.op !== 'eq') throw unsupportedOp(n.op)
        if (!spec.ops.includes('eq')) throw unsupportedOp('eq')
        if (typeof n.value !== 'string') throw bad(`literal does not fit ${prop}`)
        return (v) => equal(v, n.value)
      case 'in':
        if (n.prop !== IT) throw bad('lambda condition must test the lambda variable')
        if (!spec.ops.includes('eq')) throw unsupportedOp('in')
        return (v) => n.values.some((x) => equal(v, x))
      case 'fn':
        if (n.prop !== IT) throw bad('lambda condition must test the lambda variable')
        if (n.fn !== 'startswith' || !spec.ops.includes('startswith')) throw unsupportedOp(n.fn)
        return (v) => startsWith(v, n.value)
      case 'not':
        throw unsupportedOp('not')
      case 'lambda':
        throw bad('nested lambda')
    }
  }

  const compile = (n: FilterNode): Pred => {
    switch (n.k) {
      case 'and': {
        const l = compile(n.l)
        const r = compile(n.r)
        return (o) => l(o) && r(o)
      }
      case 'or': {
        const l = compile(n.l)
        const r = compile(n.r)
        return (o) => l(o) || r(o)
      }
      case 'not':
        throw unsupportedOp('not')
      case 'cmp': {
        const { name, spec } = lookup(n.prop)
        if (spec.kind === 'collection')
          throw new GraphError('UnsupportedFilterProperty', { property: name, resource: schema.resource })
        if (n.op !== 'eq' || !spec.ops.includes('eq')) throw unsupportedOp(n.op)
        checkLiteral(spec, n.value, name)
        return (o) => (n.value === null ? o[name] === null || o[name] === undefined : equal(o[name], n.value))
      }
      case 'in': {
        const { name, spec } = lookup(n.prop)
        if (spec.kind === 'collection' || !spec.ops.includes('eq')) throw unsupportedOp('in')
        for (const v of n.values) checkLiteral(spec, v, name)
        return (o) => n.values.some((v) => equal(o[name], v))
      }
      case 'fn': {
        const { name, spec } = lookup(n.prop)
        if (n.fn !== 'startswith' || spec.kind === 'collection' || !spec.ops.includes('startswith'))
          throw unsupportedOp(n.fn)
        if (typeof n.value !== 'string') throw bad('startswith takes a string')
        return (o) => startsWith(o[name], n.value)
      }
      case 'lambda': {
        const { name, spec } = lookup(n.prop)
        if (spec.kind !== 'collection')
          throw new GraphError('UnsupportedFilterProperty', { property: name, resource: schema.resource })
        if (n.fn !== 'any') throw unsupportedOp('all')
        if (!n.inner) throw new GraphError('UnsupportedFilterProperty', { property: name, resource: schema.resource })
        const test = element(n.inner, spec, name)
        return (o) => {
          const v = o[name]
          return Array.isArray(v) && v.some(test)
        }
      }
    }
  }
  return compile(node)
}

/** `$select=a,b` → canonical property names in wire order; unknown names are refused as Graph does. */
export function parseSelect(raw: string | undefined, schema: EntitySchema): readonly string[] | null {
  if (raw === undefined || raw.trim() === '') return null
  const wanted = raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
  const names = new Set<string>()
  for (const w of wanted) {
    const name = schema.properties.find((p) => p.toLowerCase() === w.toLowerCase())
    if (!name) throw new GraphError('UnknownSelectProperty', { property: w, type: schema.type })
    names.add(name)
  }
  return schema.properties.filter((p) => names.has(p))
}

/** Keeps the selected properties of a wire object (and its `@odata.type`, when it has one). */
export function applySelect(o: Record<string, unknown>, select: readonly string[] | null): Record<string, unknown> {
  if (!select) return o
  const out: Record<string, unknown> = {}
  if ('@odata.type' in o) out['@odata.type'] = o['@odata.type']
  for (const k of select) if (k in o) out[k] = o[k]
  return out
}

/** `$top`: 1–999 (api-shapes §5.2). */
export function parseTop(raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback
  const n = /^\d{1,4}$/.test(raw.trim()) ? Number(raw.trim()) : Number.NaN
  if (!Number.isInteger(n) || n < 1 || n > 999) throw new GraphError('InvalidPageSize', { top: raw })
  return n
}

/** An opaque `$skiptoken`: the object id after which the next page starts. */
export const encodeSkipToken = (afterId: string): string => Buffer.from(`azid1:${afterId}`).toString('base64url')

export function decodeSkipToken(raw: string | undefined): string | null {
  if (raw === undefined) return null
  const s = Buffer.from(raw, 'base64url').toString('utf8')
  if (!/^azid1:[0-9a-f-]{36}$/.test(s)) throw new GraphError('InvalidSkipToken', {}, `skiptoken ${raw.slice(0, 40)}`)
  return s.slice('azid1:'.length)
}

/** Query options azid refuses rather than silently ignoring. */
export function checkQueryOptions(q: URLSearchParams): void {
  for (const key of q.keys()) {
    const k = key.toLowerCase()
    if (k === '$orderby') throw new GraphError('SortingNotSupported')
    if (k === '$expand' || k === '$search' || k === '$skip' || k === '$apply' || k === '$compute')
      throw new GraphError('UnsupportedQueryOption', { option: key })
  }
}

/** The value of an OData query option, matched case-insensitively (`$filter`, `$Filter`). */
export function queryOption(q: URLSearchParams, name: string): string | undefined {
  for (const [k, v] of q) if (k.toLowerCase() === name) return v
  return undefined
}
