-- PUT Microsoft.ManagedIdentity/userAssignedIdentities with a new name each time (creation, never update).
-- IDENTITY_PREFIX: /subscriptions/<s>/resourceGroups/<g>/providers/Microsoft.ManagedIdentity/userAssignedIdentities/
-- AUTHORIZATION: "Bearer <token>"; RUN_ID: distinguishes runs (warm-up and measured) in the same group.
local counter = 1
function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
end

local n = 0
local prefix = os.getenv("IDENTITY_PREFIX")
local run = os.getenv("RUN_ID") or "r"
local headers = {
  ["Content-Type"] = "application/json",
  ["Authorization"] = os.getenv("AUTHORIZATION"),
}
local body = '{"location":"westus","tags":{"bench":"true"}}'

request = function()
  n = n + 1
  return wrk.format("PUT", prefix .. "id-" .. run .. "-" .. tid .. "-" .. n .. "?api-version=2023-01-31", headers, body)
end
