-- For bench.peers: POSTs a new comment to Isso's /new as JSON, each one of its own.
-- Arguments (after "--"): a run tag that differs between runs, and a parent comment id.
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "report.lua")
dofile(here .. "sent.lua")

function request()
  local n, parent = next_comment()
  if parent == "" then
    parent = "null"
  end
  local body = '{"author": "Bench reader ' .. n .. '", "email": "reader-' .. n ..
    '@example.com", "website": null, "parent": ' .. parent ..
    ', "text": "Benchmark comment ' .. n .. ' with a few words about the post."}'
  return wrk.format("POST", nil, {["Content-Type"] = "application/json"}, body)
end
