-- Readers for the mixed run: each request the next of the paths given as
-- arguments (front page, a story, a topic, the RSS feed, the API list...).
local paths = {}
local index = 0

function init(args)
  for _, path in ipairs(args) do
    table.insert(paths, path)
  end
end

function request()
  index = index % #paths + 1
  return wrk.format("GET", paths[index])
end
