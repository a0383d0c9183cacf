plugin "http" {
  version = "1.0.0"
  kinds   = ["storage:https", "storage:http", "storage:https"]
  hashes  = { linux_amd64 = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" }
}
