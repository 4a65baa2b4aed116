// Home: the services the portal offers, and who is signed in.
import { copyable, essentials, h, link } from '../dom.js'

const TILES = [
  ['Resource groups', '#/resourceGroups', 'Groups and the hosts and identities in them'],
  ['Virtual machines and hosts', '#/hosts', 'VMs, scale sets, App Services, container groups, Arc machines'],
  ['Managed Identities', '#/identities', 'User-assigned managed identities: create, list, delete'],
  ['Enterprise applications', '#/enterpriseApps', 'Service principals, managed identities among them'],
  ['Sign-in and activity logs', '#/logs', 'Every token issued or refused and every authorization decision'],
  ['Device sign-in', '#/device', 'Approve or deny a device code'],
  ['Fault rules', '#/faults', 'Make the managed-identity endpoints fail on purpose'],
  ['Token decoder', '#/token', 'Read a token’s claims, in this browser only'],
]

/** @param {import('../main.js').Ctx} ctx */
export function home(ctx) {
  ctx.title('Azure services', 'azid: self-hosted managed identities')
  const sub = ctx.subscriptions.find((s) => s.subscriptionId === ctx.sub)
  ctx.view.append(
    h(
      'section.tiles',
      TILES.map(([title, href, text]) => h('a.tile', { href }, h('strong', title), h('span', text))),
    ),
    h(
      'section.card',
      h('h2', 'Signed in'),
      essentials([
        ['User', ctx.me.userPrincipalName],
        ['Object ID', copyable(ctx.me.principalId)],
        ['Role', ctx.me.admin ? 'Bootstrap administrator' : 'Directory user'],
        [
          'Subscription',
          sub ? link(`#/resource/subscriptions/${sub.subscriptionId}/overview`, sub.displayName) : 'None visible',
        ],
        ['Subscription ID', sub ? copyable(sub.subscriptionId) : null],
        ['Tenant ID', sub ? copyable(sub.tenantId) : null],
      ]),
    ),
  )
}
