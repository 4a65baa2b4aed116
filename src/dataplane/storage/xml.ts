/**
 * The XML Storage speaks: escaping for the documents azid writes, and a small strict parser for the few request
 * bodies it reads (block lists, key info, ACLs). No DTDs, no namespaces beyond keeping prefixed names, no external
 * entities: anything else is a syntax error (InvalidXmlDocument).
 */

export const XML_DECL = '<?xml version="1.0" encoding="utf-8"?>'

const ESC: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' }

/**
 * Escapes text and attribute values (`& < > "`, as .NET's XmlWriter does for Storage; apostrophes stay), and drops
 * characters XML 1.0 cannot carry.
 */
export function escapeXml(s: string): string {
  return s
    .replace(/[&<>"]/g, (c) => ESC[c] as string)
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, '')
}

/** `<name>text</name>`, or `<name />` for an empty value (Azure writes empty elements that way). */
export const el = (name: string, text: string | number | boolean | null | undefined): string =>
  text === null || text === undefined || text === '' ? `<${name} />` : `<${name}>${escapeXml(String(text))}</${name}>`

/** `<Metadata>` of a listing: each pair as an element, or `<Metadata />`. */
export const metadataXml = (m: Record<string, string>) => {
  const items = Object.entries(m)
  return items.length === 0
    ? '<Metadata />'
    : `<Metadata>${items.map(([k, v]) => `<${k}>${escapeXml(v)}</${k}>`).join('')}</Metadata>`
}

/** Listings carry ETags without quotes (headers have them). */
export const bareEtag = (etag: string) => etag.replace(/^"|"$/g, '')

/** `Prefix`, `Marker` and `MaxResults` of a listing, in that order, each when the request had it. */
export const listingFields = (q: {
  prefix: string | undefined
  marker: string | undefined
  maxResults: number | undefined
}) =>
  `${q.prefix !== undefined ? el('Prefix', q.prefix) : ''}${q.marker !== undefined ? el('Marker', q.marker) : ''}${
    q.maxResults !== undefined ? el('MaxResults', q.maxResults) : ''
  }`

/** A listing's `<EnumerationResults>`: its attributes, the fields before the items, the items, `NextMarker`. */
export function enumerationXml(q: {
  serviceEndpoint: string
  attributes?: readonly (readonly [string, string])[]
  fields: string
  /** The element around the items (`Containers`, `Blobs`, `Shares`, `Entries`). */
  tag: string
  items: string
  nextMarker: string
}): string {
  const attributes = (q.attributes ?? []).map(([k, v]) => ` ${k}="${escapeXml(v)}"`).join('')
  return `${XML_DECL}<EnumerationResults ServiceEndpoint="${escapeXml(q.serviceEndpoint)}"${attributes}>${q.fields}<${
    q.tag
  }>${q.items}</${q.tag}>${el('NextMarker', q.nextMarker)}</EnumerationResults>`
}

/** A retention policy that is off (logging and metrics of service properties). */
export const DISABLED_RETENTION_XML = '<RetentionPolicy><Enabled>false</Enabled></RetentionPolicy>'

/** `HourMetrics` / `MinuteMetrics` of service properties: off. */
export const disabledMetricsXml = (tag: string) =>
  `<${tag}><Version>1.0</Version><Enabled>false</Enabled>${DISABLED_RETENTION_XML}</${tag}>`

export interface XmlElement {
  name: string
  attributes: Record<string, string>
  children: XmlElement[]
  /** Concatenated character data directly inside this element. */
  text: string
}

export class XmlSyntaxError extends Error {
  readonly line: number
  readonly column: number
  constructor(message: string, line: number, column: number) {
    super(message)
    this.line = line
    this.column = column
    this.name = 'XmlSyntaxError'
  }
}

const NAME = /[A-Za-z_:][-A-Za-z0-9_:.]*/y

function decodeEntities(s: string, fail: (m: string) => never): string {
  if (!s.includes('&')) return s
  return s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-zA-Z]+);|&/g, (_m, ent: string | undefined) => {
    if (ent === undefined) fail('bare & in character data')
    if (ent.startsWith('#x')) return String.fromCodePoint(Number.parseInt(ent.slice(2), 16))
    if (ent.startsWith('#')) return String.fromCodePoint(Number.parseInt(ent.slice(1), 10))
    const v = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" }[ent]
    if (v === undefined) fail(`unknown entity &${ent};`)
    return v
  })
}

/** Parses one document: an optional declaration, comments, one root element. Throws XmlSyntaxError. */
export function parseXml(input: string): XmlElement {
  let i = 0
  const src = input.charCodeAt(0) === 0xfeff ? input.slice(1) : input
  const fail = (m: string): never => {
    const before = src.slice(0, i)
    const line = before.split('\n').length
    throw new XmlSyntaxError(m, line, i - before.lastIndexOf('\n'))
  }
  const skipWs = () => {
    while (i < src.length && /\s/.test(src[i] as string)) i++
  }
  const skipMisc = () => {
    for (;;) {
      skipWs()
      if (src.startsWith('<!--', i)) {
        const end = src.indexOf('-->', i + 4)
        if (end < 0) fail('unterminated comment')
        i = end + 3
      } else if (src.startsWith('<?', i)) {
        const end = src.indexOf('?>', i + 2)
        if (end < 0) fail('unterminated processing instruction')
        i = end + 2
      } else return
    }
  }
  const name = (): string => {
    NAME.lastIndex = i
    const m = NAME.exec(src)
    if (!m) fail('expected a name')
    i = NAME.lastIndex
    return (m as RegExpExecArray)[0]
  }
  const element = (depth: number): XmlElement => {
    if (depth > 64) fail('elements nested too deeply')
    if (src[i] !== '<') fail('expected <')
    i++
    const el: XmlElement = { name: name(), attributes: {}, children: [], text: '' }
    for (;;) {
      skipWs()
      if (src.startsWith('/>', i)) {
        i += 2
        return el
      }
      if (src[i] === '>') {
        i++
        break
      }
      const attr = name()
      skipWs()
      if (src[i] !== '=') fail('expected =')
      i++
      skipWs()
      const q = src[i]
      if (q !== '"' && q !== "'") fail('expected a quoted attribute value')
      const end = src.indexOf(q as string, i + 1)
      if (end < 0) fail('unterminated attribute value')
      el.attributes[attr] = decodeEntities(src.slice(i + 1, end), fail)
      i = end + 1
    }
    for (;;) {
      if (i >= src.length) fail(`unclosed element <${el.name}>`)
      if (src.startsWith('</', i)) {
        i += 2
        const close = name()
        if (close !== el.name) fail(`</${close}> does not close <${el.name}>`)
        skipWs()
        if (src[i] !== '>') fail('expected >')
        i++
        return el
      }
      if (src.startsWith('<!--', i)) {
        const end = src.indexOf('-->', i + 4)
        if (end < 0) fail('unterminated comment')
        i = end + 3
        continue
      }
      if (src.startsWith('<![CDATA[', i)) {
        const end = src.indexOf(']]>', i + 9)
        if (end < 0) fail('unterminated CDATA section')
        el.text += src.slice(i + 9, end)
        i = end + 3
        continue
      }
      if (src.startsWith('<!', i) || src.startsWith('<?', i)) fail('declarations are not allowed here')
      if (src[i] === '<') {
        el.children.push(element(depth + 1))
        continue
      }
      const next = src.indexOf('<', i)
      const end = next < 0 ? src.length : next
      el.text += decodeEntities(src.slice(i, end), fail)
      i = end
    }
  }
  skipMisc()
  if (src.startsWith('<!DOCTYPE', i)) fail('DTDs are not allowed')
  const root = element(0)
  skipMisc()
  if (i < src.length) fail('content after the root element')
  return root
}

/** The first child named `name` (exact, case-sensitive as Azure's schemas are). */
export const child = (e: XmlElement, name: string): XmlElement | undefined => e.children.find((c) => c.name === name)
