
/*
 * make test-asan: preloaded into nginx, so that dlclose() leaves a module
 * mapped. nginx unloads its modules as a worker exits (the cycle pool's
 * cleanup), before LeakSanitizer looks: without this, what a module's
 * statics still point to would be reported lost, and its frames unnamed.
 */

int
dlclose(void *handle)
{
    (void) handle;
    return 0;
}
