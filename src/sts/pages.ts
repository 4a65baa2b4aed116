/** The few HTML pages of the token service: sign-in for /authorize, device-code approval, and error pages. */

const esc = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string)

function layout(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<style>
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;background:#f2f2f2;margin:0;display:flex;min-height:100vh;align-items:center;justify-content:center}
main{background:#fff;width:min(440px,92vw);padding:44px;box-shadow:0 2px 6px rgba(0,0,0,.2)}
h1{font-size:24px;font-weight:600;margin:0 0 16px}p{color:#1b1b1b;line-height:1.4}
label{display:block;font-size:14px;margin:14px 0 4px}
input[type=text],input[type=password]{width:100%;box-sizing:border-box;padding:8px;border:none;border-bottom:1px solid #666;font-size:15px}
.actions{margin-top:24px;display:flex;gap:8px;justify-content:flex-end}
button{padding:8px 24px;font-size:15px;border:none;cursor:pointer;background:#0067b8;color:#fff}
button.secondary{background:#ccc;color:#000}
.error{color:#a80000;font-size:14px;margin:8px 0}
.brand{font-weight:600;color:#737373;margin-bottom:16px}code{font-size:13px;word-break:break-all}
</style></head><body><main><div class="brand">azid</div>${body}</main></body></html>`
}

const hidden = (fields: Record<string, string | null>) =>
  Object.entries(fields)
    .filter(([, v]) => v !== null)
    .map(([k, v]) => `<input type="hidden" name="${esc(k)}" value="${esc(v as string)}">`)
    .join('')

export function signInPage(q: {
  action: string
  clientName: string
  fields: Record<string, string | null>
  loginHint: string | null
  error: string | null
}): string {
  return layout(
    'Sign in to your account',
    `<h1>Sign in</h1><p>to continue to <b>${esc(q.clientName)}</b></p>
${q.error ? `<p class="error" role="alert">${esc(q.error)}</p>` : ''}
<form method="post" action="${esc(q.action)}">${hidden(q.fields)}
<label for="username">Email or user name</label><input id="username" name="username" type="text" autocomplete="username" value="${esc(q.loginHint ?? '')}" required>
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required>
<div class="actions"><button type="submit">Sign in</button></div></form>`,
  )
}

export function deviceCodePage(q: { error: string | null; code?: string }): string {
  return layout(
    'Enter code',
    `<h1>Enter code</h1><p>Enter the code displayed on your app or device.</p>
${q.error ? `<p class="error" role="alert">${esc(q.error)}</p>` : ''}
<form method="post" action="/devicelogin"><label for="otc">Code</label>
<input id="otc" name="otc" type="text" value="${esc(q.code ?? '')}" autocomplete="off" required>
<div class="actions"><button type="submit">Next</button></div></form>`,
  )
}

export function deviceSignInPage(q: { code: string; clientName: string; error: string | null }): string {
  return layout(
    'Sign in',
    `<h1>Sign in</h1><p>You are signing in to <b>${esc(q.clientName)}</b> on another device. Only continue if you started this sign-in.</p>
${q.error ? `<p class="error" role="alert">${esc(q.error)}</p>` : ''}
<form method="post" action="/devicelogin/decide">${hidden({ otc: q.code })}
<label for="username">Email or user name</label><input id="username" name="username" type="text" autocomplete="username" required>
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required>
<div class="actions"><button class="secondary" type="submit" name="decision" value="deny">Deny</button><button type="submit" name="decision" value="approve">Approve</button></div></form>`,
  )
}

export function messagePage(title: string, message: string): string {
  return layout(title, `<h1>${esc(title)}</h1><p>${esc(message)}</p>`)
}

export function formPostPage(action: string, fields: Record<string, string | null>): string {
  return `<!doctype html><html><head><title>Working...</title></head><body onload="document.forms[0].submit()"><form method="post" action="${esc(action)}">${hidden(fields)}<noscript><button type="submit">Continue</button></noscript></form></body></html>`
}
