-- For bench.peers: POSTs WordPress's comment form (wp-comments-post.php), each comment of its own.
-- Arguments (after "--"): a run tag that differs between runs, a parent comment id, the post id.
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "report.lua")
dofile(here .. "sent.lua")

local post_id = ""
local base_init = init
function init(args)
  base_init(args)
  post_id = args[3] or ""
end

function request()
  local n, parent = next_comment()
  if parent == "" then
    parent = "0"
  end
  local body = "comment_post_ID=" .. post_id ..
    "&author=Bench+reader+" .. n ..
    "&email=reader-" .. n .. "%40example.com" ..
    "&url=" ..
    "&comment_parent=" .. parent ..
    "&comment=Benchmark+comment+" .. n .. "+with+a+few+words+about+the+post."
  return wrk.format("POST", nil, {["Content-Type"] = "application/x-www-form-urlencoded"}, body)
end
