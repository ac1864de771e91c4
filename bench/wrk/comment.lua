-- POSTs a reply form with a body, name and email of its own on every request, so that the
-- duplicate and previously-approved rules see a new comment each time.
-- Arguments (after "--"): a run tag that differs between runs, and a parent comment id.
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "report.lua")
dofile(here .. "sent.lua")

function request()
  local n, parent = next_comment()
  local body = "name=Bench+reader+" .. n ..
    "&email=reader-" .. n .. "%40example.com" ..
    "&url=" ..
    "&parent_id=" .. parent ..
    "&body=Benchmark+comment+" .. n .. "+with+a+few+words+about+the+post."
  return wrk.format("POST", nil, {["Content-Type"] = "application/x-www-form-urlencoded"}, body)
end
