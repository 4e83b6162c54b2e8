module memdbg.example/goroots

go 1.22

require memdbg.example/kit v0.0.0

replace memdbg.example/kit => ../kit
