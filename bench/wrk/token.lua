-- client_credentials token requests, each for a resource never asked for before (no cache can answer):
-- resource=https://t<thread>x<n>.blob.core.windows.net, a per-instance Azure Storage audience.
-- TOKEN_PATH: the token endpoint's path; TOKEN_BODY: the form without resource (already URL-encoded).
local counter = 1
function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
end

local n = 0
local path = os.getenv("TOKEN_PATH")
local base = os.getenv("TOKEN_BODY")
local headers = { ["Content-Type"] = "application/x-www-form-urlencoded" }

request = function()
  n = n + 1
  local body = base .. "&resource=https%3A%2F%2Ft" .. tid .. "x" .. n .. ".blob.core.windows.net"
  return wrk.format("POST", path, headers, body)
end
