module memdbg.example/golayout-timers

go 1.22
