module misuse

go 1.22

require memdbg.example/threads v0.0.0

replace memdbg.example/threads => ../threads
