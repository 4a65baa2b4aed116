import { createHash } from 'node:crypto'
import type { Host } from './ports.ts'

/** Versions IMDS publishes (mi-endpoints §1.4); the identity category starts at 2018-02-01. */
export const IMDS_VERSIONS = [
  '2017-03-01',
  '2017-04-02',
  '2017-08-01',
  '2017-10-01',
  '2017-12-01',
  '2018-02-01',
  '2018-04-02',
  '2018-10-01',
  '2019-02-01',
  '2019-03-11',
  '2019-04-30',
  '2019-06-01',
  '2019-06-04',
  '2019-08-01',
  '2019-08-15',
  '2019-11-01',
  '2020-06-01',
  '2020-07-15',
  '2020-09-01',
  '2020-10-01',
  '2020-12-01',
  '2021-01-01',
  '2021-02-01',
  '2021-03-01',
  '2021-05-01',
  '2021-08-01',
  '2021-10-01',
  '2021-11-01',
  '2021-11-15',
  '2021-12-13',
  '2023-07-01',
  '2023-11-15',
  '2024-03-15',
  '2024-07-17',
  '2025-04-07',
] as const

export const IDENTITY_VERSIONS = IMDS_VERSIONS.filter((v) => v >= '2018-02-01')

const str = (v: unknown) => (v === undefined || v === null ? '' : String(v))

/** A stable private address and MAC for a host, derived from its id (there is no real network). */
function network(host: Host) {
  const h = createHash('sha256').update(host.id.toLowerCase()).digest()
  const ip = `10.${h[0]}.${h[1]}.${((h[2] ?? 0) % 250) + 4}`
  const mac = h.subarray(3, 9).toString('hex').toUpperCase()
  return {
    interface: [
      {
        ipv4: {
          ipAddress: [{ privateIpAddress: ip, publicIpAddress: '' }],
          subnet: [{ address: ip.replace(/\.\d+$/, '.0'), prefix: '24' }],
        },
        ipv6: { ipAddress: [] },
        macAddress: mac,
      },
    ],
  }
}

/** `/metadata/instance` from the host's ARM resource (mi-endpoints §2.1): keys alphabetical, primitives strings. */
export function instanceDocument(host: Host): Record<string, unknown> {
  // biome-ignore lint/suspicious/noExplicitAny: free-form ARM properties stored as the client sent them
  const p = host.properties as Record<string, any>
  const image = p.storageProfile?.imageReference ?? p.virtualMachineProfile?.storageProfile?.imageReference ?? {}
  const os = p.osProfile ?? p.virtualMachineProfile?.osProfile ?? {}
  const isLinux = Boolean(os.linuxConfiguration) || !os.windowsConfiguration
  const isScaleSet = host.type.toLowerCase() === 'microsoft.compute/virtualmachinescalesets'
  const tagsList = Object.entries(host.tags).map(([name, value]) => ({ name, value }))
  const compute: Record<string, unknown> = {
    additionalCapabilities: { hibernationEnabled: 'false' },
    azEnvironment: 'AzurePublicCloud',
    customData: '',
    evictionPolicy: '',
    extendedLocation: { type: '', name: '' },
    isHostCompatibilityLayerVm: 'false',
    licenseType: str(p.licenseType),
    location: str(host.location),
    name: isScaleSet ? `${host.name}_0` : host.name,
    offer: str(image.offer),
    osProfile: {
      adminUsername: str(os.adminUsername),
      computerName: str(os.computerName ?? (isScaleSet ? `${os.computerNamePrefix ?? host.name}000000` : host.name)),
      disablePasswordAuthentication: str(os.linuxConfiguration?.disablePasswordAuthentication ?? 'false'),
    },
    osType: isLinux ? 'Linux' : 'Windows',
    placementGroupId: '',
    plan: { name: '', product: '', publisher: '' },
    platformFaultDomain: '0',
    platformUpdateDomain: '0',
    priority: str(p.priority),
    provider: host.type.split('/')[0] ?? 'Microsoft.Compute',
    publicKeys: (os.linuxConfiguration?.ssh?.publicKeys ?? []).map((k: { keyData?: unknown; path?: unknown }) => ({
      keyData: str(k.keyData),
      path: str(k.path),
    })),
    publisher: str(image.publisher),
    resourceGroupName: str(host.resourceGroup),
    resourceId: isScaleSet ? `${host.id}/virtualMachines/0` : host.id,
    securityProfile: { secureBootEnabled: 'false', virtualTpmEnabled: 'false' },
    sku: str(image.sku),
    storageProfile: {
      dataDisks: [],
      imageReference: {
        id: str(image.id),
        offer: str(image.offer),
        publisher: str(image.publisher),
        sku: str(image.sku),
        version: str(image.version),
      },
      osDisk: { name: str(p.storageProfile?.osDisk?.name), osType: isLinux ? 'Linux' : 'Windows' },
      resourceDisk: { size: '0' },
    },
    subscriptionId: host.subscriptionId,
    tags: Object.entries(host.tags)
      .map(([k, v]) => `${k}:${v}`)
      .join(';'),
    tagsList,
    userData: '',
    version: str(image.version),
    virtualMachineScaleSet: { id: isScaleSet ? host.id : '' },
    vmId: str(p.vmId ?? p.uniqueId),
    vmScaleSetName: isScaleSet ? host.name : '',
    vmSize: str(p.hardwareProfile?.vmSize ?? (host.extra.sku as { name?: string } | undefined)?.name),
    zone: '',
  }
  return { compute, network: network(host) }
}

/** Walks `compute/vmId`-style paths; leaves need `format=text`. */
export function selectPath(doc: unknown, path: readonly string[]): { found: boolean; value: unknown } {
  let v: unknown = doc
  for (const seg of path) {
    if (Array.isArray(v)) {
      const i = Number(seg)
      if (!Number.isInteger(i) || i < 0 || i >= v.length) return { found: false, value: undefined }
      v = v[i]
    } else if (v && typeof v === 'object' && seg in (v as Record<string, unknown>))
      v = (v as Record<string, unknown>)[seg]
    else return { found: false, value: undefined }
  }
  return { found: true, value: v }
}
