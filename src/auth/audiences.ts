/** Audiences each Azure service accepts (AUD-003): its identifiers with and without a trailing slash, and its app id. */
export const AUDIENCES = {
  arm: [
    'https://management.azure.com/',
    'https://management.core.windows.net/',
    '797f4846-ba00-4fd7-ba43-dac1f8f63013',
  ],
  graph: ['https://graph.microsoft.com/', '00000003-0000-0000-c000-000000000000'],
  storage: ['https://storage.azure.com/', 'e406a681-f3d4-42a8-90b6-c2b029497af1'],
  vault: ['https://vault.azure.net', 'cfa8b339-82a2-471a-a3c9-0fc0be7a4093'],
} as const
