module memdbg.example/gcmeta

go 1.22
