"""The one fitting engine: compile → prepare → evaluate → solve → uncertainty → assemble.

Front-ends (:mod:`xpsfit.fitting.single`, :mod:`xpsfit.fitting.series`, :mod:`xpsfit.presence`, :mod:`xpsfit.maps`,
:mod:`xpsfit.fitting.charge`) build a :class:`Structure`, prepare the data and call the same evaluation,
solvers, uncertainty and result assembly; none keeps its own model, Jacobian or covariance.
"""
