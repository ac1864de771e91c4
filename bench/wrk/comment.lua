-- POSTs a reply form with a body, name and email of its own on every request, so that the
-- duplicate and previously-approved rules see a new comment each time.
-- Arguments (after "--"): a run tag that differs between runs, and a parent comment id.
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "report.lua")

local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("thread_tag", threads)
end

local run_tag = "run"
local parent_id = ""
local sent = 0

function init(args)
  run_tag = args[1] or tostring(os.time())
  parent_id = args[2] or ""
end

function request()
  sent = sent + 1
  local n = run_tag .. "-" .. tostring(thread_tag or 0) .. "-" .. sent
  local parent = ""
  if sent % 2 == 0 then
    parent = parent_id
  end
  local body = "name=Bench+reader+" .. n ..
    "&email=reader-" .. n .. "%40example.com" ..
    "&url=" ..
    "&parent_id=" .. parent ..
    "&body=Benchmark+comment+" .. n .. "+with+a+few+words+about+the+post."
  return wrk.format("POST", nil, {["Content-Type"] = "application/x-www-form-urlencoded"}, body)
end
