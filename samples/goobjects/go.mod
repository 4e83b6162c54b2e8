module memdbg.example/goobjects

go 1.22
