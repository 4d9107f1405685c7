#include "respond.h"
