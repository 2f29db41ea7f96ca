#include "orb_tle.h"
#include "t.h"
int main(void)
{
    T_TRUE(1);
    return t_done();
}
