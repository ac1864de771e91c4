-- Shared by the scripts that POST comments: a tag per wrk thread, and from the arguments (after
-- "--") a run tag that differs between runs and the id of a comment to reply to, so that every
-- request sends a comment of its own and every second one is a reply.
local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("thread_tag", threads)
end

run_tag = "run"
parent_id = ""
local sent = 0

function init(args)
  run_tag = args[1] or tostring(os.time())
  parent_id = args[2] or ""
end

-- A name for the next comment, and the comment it replies to ("" when it replies to none).
function next_comment()
  sent = sent + 1
  local n = run_tag .. "-" .. tostring(thread_tag or 0) .. "-" .. sent
  if sent % 2 == 0 then
    return n, parent_id
  end
  return n, ""
end
