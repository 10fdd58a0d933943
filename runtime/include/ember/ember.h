// Everything an Ember application includes.
#pragma once

#include "ember/accumulator.h"
#include "ember/application.h"
#include "ember/broadcast.h"
#include "ember/context.h"
#include "ember/hash.h"
#include "ember/rdd.h"
#include "ember/record.h"
#include "ember/text_format.h"
