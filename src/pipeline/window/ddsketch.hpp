// DDSketch quantile sketch (issue 4).
#pragma once
