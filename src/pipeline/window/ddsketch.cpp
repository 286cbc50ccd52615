// DDSketch: written by the accumulator work (issue 4).
#include "pipeline/window/ddsketch.hpp"
