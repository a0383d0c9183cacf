plugin "http" {
  version = "1.0.0"
  kinds   = ["storage:HTTPS"]
  hashes  = { linux_amd64 = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" }
}
