/* ps_stat_main.c — a test driver that runs `gprofctl stat` (cli/stat.c's cmd_stat) on its own,
 * so perfspect's integration tests do not depend on which verbs gprofctl registers. */
#include "cli/stat.h"

int main(int argc, char **argv)
{
    /* cmd_stat expects argv[0] == "stat", as gprofctl passes it */
    argv[0] = "stat";
    return cmd_stat(argc, argv);
}
