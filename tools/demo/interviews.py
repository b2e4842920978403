"""The Peru pilot's closing interviews, as data: ten semi-structured interviews
(five mentors, five mentees, eight open questions each, the platform's default
guides), what each woman answered, and the themes her answers carry.

The codebook holds the three themes the pilot's evaluation found in its ten
interviews (its published evaluation): questioning the roles society gives women,
confidence gained, and hard personal and professional journeys (the strike and
the unrest among their obstacles), each with a sub-theme or two. Every answer
is written for the demo in its own words; none is taken from the pilot's
transcripts. ``codes`` is how a careful reader codes an answer: the two demo
coders start from it and each departs from it now and then, as coders do.
"""

from __future__ import annotations

from dataclasses import dataclass

# (code, parent, Spanish label, English label, Spanish definition, English definition)
CODEBOOK: tuple[tuple[str, str | None, str, str, str, str], ...] = (
    ("gendered-roles", None, "Cuestionar los roles de género", "Challenging gendered roles",
     "Habla de lo que la sociedad, la familia o el trabajo esperan de una mujer y de cómo lo pone en duda.",
     "Talks about what society, family or work expect of a woman and how she questions it."),
    ("workplace-bias", "gendered-roles", "Sesgo y acoso en el aula o el trabajo", "Bias and harassment at study or work",
     "Trato distinto por ser mujer en clase, en el laboratorio, en prácticas o en la docencia, incluido el acoso.",
     "Being treated differently as a woman in class, the lab, internships or teaching, harassment included."),
    ("family-expectations", "gendered-roles", "Expectativas de la familia", "Family expectations",
     "Lo que su familia espera de ella (casa, cuidados, una carrera 'para mujeres') y cómo lo negocia.",
     "What her family expects of her (home, care, a 'woman's' career) and how she negotiates it."),
    ("confidence", None, "Más confianza en sí misma", "Increased personal confidence",
     "Se siente más segura, se atreve a más o se ve capaz de cosas que antes no veía a su alcance.",
     "She feels surer of herself, dares more or sees within reach what she did not before."),
    ("speaking-up", "confidence", "Alzar la voz", "Speaking up",
     "Habla en clase, en reuniones o ante profesores; pide lo que necesita; defiende su trabajo.",
     "Speaks in class, meetings or before professors; asks for what she needs; stands up for her work."),
    ("journeys", None, "Trayectorias con obstáculos", "Challenging personal journeys",
     "El camino de su carrera, sus tiempos y sus obstáculos; la mentora como guía en ese camino.",
     "Her career path, its pace and its obstacles; the mentor as a guide along it."),
    ("strike-and-unrest", "journeys", "La huelga y el contexto del país", "The strike and the country's unrest",
     "La huelga docente, los paros o la situación política como freno de sus planes.",
     "The teachers' strike, stoppages or the political situation holding back her plans."),
)


@dataclass(frozen=True)
class Interviewee:
    role: str
    quote: str  # the sentence a coder would pick from her answers, verbatim
    answers: dict[str, tuple[str, tuple[str, ...]]]  # question key: (answer, codes)


MENTORS: tuple[Interviewee, ...] = (
    Interviewee("mentor", "se dio cuenta de que la única que dudaba era ella", {
        "overall": ("Sí, y más de lo que esperaba. Pensé que iba a ser una tutoría más, pero terminó siendo una "
                    "conversación de igual a igual con dos chicas que tenían mucho que decir.", ("confidence",)),
        "gains": ("Aprendí a escuchar sin dar la solución de inmediato. Y me recordó por qué elegí la geología "
                  "cuando en mi promoción éramos tres mujeres.", ("journeys", "gendered-roles")),
        "challenges": ("El tiempo. Entre el dictado, los proyectos y la huelga, hubo semanas en que no podía "
                       "ni responder los mensajes.", ("strike-and-unrest",)),
        "mentee_gains": ("Una de ellas quería postular a una beca y no se animaba porque creía que no tenía el "
                         "nivel. Cuando revisamos su expediente se dio cuenta de que la única que dudaba era ella.",
                         ("confidence",)),
        "mentee_challenges": ("La huelga les cortó el semestre y una de ellas perdió sus prácticas. Además, en su "
                              "familia esperaban que volviera a casa a ayudar en el negocio.",
                              ("strike-and-unrest", "family-expectations")),
        "mentee_career": ("Creo que ahora ven la carrera como un camino largo, con tramos difíciles, y no como "
                          "una carrera de velocidad.", ("journeys",)),
        "own_career": ("Me animó a postular a la jefatura del laboratorio. Antes pensaba que ese cargo era para "
                       "los colegas varones con más años.", ("confidence", "gendered-roles")),
        "anything_else": ("Que no se quede en un piloto: las estudiantes de los primeros años también lo necesitan.",
                          ()),
    }),
    Interviewee("mentor", "a ninguna nos enseñaron a pedir un aumento o un ascenso", {
        "overall": ("Cumplió en lo esencial. Las cuatro sesiones presenciales fueron pocas, pero bien aprovechadas.",
                    ()),
        "gains": ("Me di cuenta de cuántas cosas normalicé en mi carrera. Escuchar a mis mentoradas me hizo ver que "
                  "a ninguna nos enseñaron a pedir un aumento o un ascenso.", ("gendered-roles", "workplace-bias")),
        "challenges": ("Coordinar horarios con dos estudiantes de ciclos distintos, y luego reprogramar todo "
                       "cuando cerraron la universidad.", ("strike-and-unrest",)),
        "mentee_gains": ("Perdieron el miedo a preguntar. Una de ellas ahora se acerca a los profesores después de "
                         "clase, cosa que antes no hacía.", ("speaking-up",)),
        "mentee_challenges": ("En las prácticas a una le decían que la ingeniería de campo no era para ella. Lo "
                              "conversamos mucho.", ("workplace-bias",)),
        "mentee_career": ("Tienen un plan con fechas. Saben que el camino tendrá desvíos, pero ya no lo ven como "
                          "algo imposible.", ("journeys", "confidence")),
        "own_career": ("Quiero seguir formando mentoras en mi facultad; es una línea de trabajo que antes no "
                       "había considerado.", ("journeys",)),
        "anything_else": ("Hace falta que los colegas hombres también entiendan por qué existe este programa.",
                          ("gendered-roles",)),
    }),
    Interviewee("mentor", "cuando ella explicó su tesis sin mirar sus notas, supe que algo había cambiado", {
        "overall": ("Sí. Tenía dudas al inicio porque nunca había sido mentora, pero la capacitación en línea me "
                    "dio una estructura para empezar.", ("confidence",)),
        "gains": ("Satisfacción, sobre todo. En la tercera sesión, cuando ella explicó su tesis sin mirar sus notas, "
                  "supe que algo había cambiado.", ("speaking-up",)),
        "challenges": ("Lo más difícil fue no imponer mi propio camino. Lo que a mí me funcionó hace veinte años "
                       "no necesariamente les sirve hoy.", ("journeys",)),
        "mentee_gains": ("Seguridad para exponer y un contacto en una empresa minera que la puede recibir en "
                         "prácticas.", ("confidence",)),
        "mentee_challenges": ("Viajar desde su distrito le toma dos horas; con los paros de transporte hubo "
                              "semanas en que no pudo venir.", ("strike-and-unrest",)),
        "mentee_career": ("Va a terminar la carrera y creo que va a llegar lejos, pero le tocará abrirse paso en "
                          "un sector donde todavía miran raro a una mujer con casco.",
                          ("journeys", "workplace-bias")),
        "own_career": ("Me hizo revisar cómo trato a mis propias estudiantes en clase. A veces sin querer les "
                       "hablaba distinto que a los varones.", ("gendered-roles",)),
        "anything_else": ("Agradecer el taller presencial de julio; ahí conocí a otras mentoras y aprendí mucho "
                          "de ellas.", ()),
    }),
    Interviewee("mentor", "La huelga nos quitó el ritmo justo cuando empezábamos a confiar", {
        "overall": ("A medias. La relación con una de mis mentoradas fue muy buena; con la otra nos costó más "
                    "encontrarnos.", ()),
        "gains": ("Aprendí a planificar las sesiones con objetivos concretos. Antes mis conversaciones eran "
                  "más improvisadas.", ()),
        "challenges": ("La huelga nos quitó el ritmo justo cuando empezábamos a confiar. Después de seis semanas "
                       "sin vernos fue como volver a empezar.", ("strike-and-unrest", "journeys")),
        "mentee_gains": ("Una de ellas decidió postular a la maestría. Me dijo que antes pensaba que eso era para "
                         "los que tenían contactos.", ("confidence", "journeys")),
        "mentee_challenges": ("Su familia esperaba que trabajara apenas terminara y que dejara la idea de seguir "
                              "estudiando.", ("family-expectations",)),
        "mentee_career": ("Si consigue la beca, será la primera de su familia con un posgrado.", ("journeys",)),
        "own_career": ("No mucho en lo profesional, pero sí en cómo me veo: ahora me considero un referente y "
                       "me lo tomo en serio.", ("confidence",)),
        "anything_else": ("Sería bueno prever un plan para cuando la universidad cierre, porque en el país estas "
                          "cosas pasan seguido.", ("strike-and-unrest",)),
    }),
    Interviewee("mentor", "yo también tuve que demostrar el doble para que me tomaran en serio", {
        "overall": ("Sí. Ver a dos estudiantes crecer en pocos meses es de lo mejor que me ha pasado como docente.",
                    ("confidence",)),
        "gains": ("Me reconcilié con mi propia historia: yo también tuve que demostrar el doble para que me "
                  "tomaran en serio.", ("gendered-roles", "journeys")),
        "challenges": ("Cuando una de ellas me contó que un compañero la acosaba, no sabía bien cómo orientarla "
                       "ni a quién acudir en la universidad.", ("workplace-bias",)),
        "mentee_gains": ("Saber que no están solas y que lo que viven tiene nombre. Y herramientas concretas para "
                         "responder.", ("gendered-roles", "confidence")),
        "mentee_challenges": ("El acoso y el miedo a denunciarlo. También la presión de sacar buenas notas "
                              "mientras trabajan.", ("workplace-bias", "journeys")),
        "mentee_career": ("Creo que se quedarán en STEM. Es más difícil irse cuando alguien te dijo que vales.",
                          ("confidence",)),
        "own_career": ("Quiero proponer un protocolo de acompañamiento en mi facultad para casos como el que "
                       "vivimos.", ("workplace-bias",)),
        "anything_else": ("Nada más; solo que se repita.", ()),
    }),
)

MENTEES: tuple[Interviewee, ...] = (
    Interviewee("mentee", "Ahora levanto la mano y pregunto", {
        "overall": ("Sí, totalmente. Entré sin saber bien qué era una mentora y salí con alguien a quien puedo "
                    "escribir cuando tengo una duda grande.", ()),
        "gains": ("Antes me quedaba callada en clase aunque supiera la respuesta. Ahora levanto la mano y "
                  "pregunto, y si me equivoco no pasa nada.", ("speaking-up",)),
        "challenges": ("La huelga. Perdimos casi dos meses y se me juntaron los cursos con las sesiones.",
                       ("strike-and-unrest",)),
        "mentor_gains": ("Creo que sí; me dijo que le gustaba ver cómo pensamos las de mi generación.", ()),
        "mentor_challenges": ("El tiempo, tiene muchísimo trabajo y aun así nunca canceló una sesión.", ()),
        "own_career": ("Voy a postular a prácticas en una minera. Antes pensaba que no me iban a aceptar por "
                       "ser mujer.", ("confidence", "workplace-bias")),
        "mentor_impact": ("No sé, tal vez le recordó cómo fue su propio inicio.", ("journeys",)),
        "anything_else": ("Que haya más sesiones presenciales, cuatro se hacen pocas.", ()),
    }),
    Interviewee("mentee", "En mi casa siempre dijeron que la ingeniería no era para mujeres", {
        "overall": ("Más de lo que esperaba. Pensé que solo íbamos a hablar de cursos y hablamos de todo.", ()),
        "gains": ("En mi casa siempre dijeron que la ingeniería no era para mujeres. Mi mentora me ayudó a "
                  "responder sin pelear y a seguir con mi plan.", ("family-expectations", "confidence")),
        "challenges": ("Organizarme entre el trabajo de medio tiempo, la universidad y las sesiones.",
                       ("journeys",)),
        "mentor_gains": ("Dice que aprendió a usar redes sociales para buscar convocatorias, jaja.", ()),
        "mentor_challenges": ("Que a veces yo no llegaba por los paros de transporte.", ("strike-and-unrest",)),
        "own_career": ("Quiero terminar la carrera y luego hacer una maestría en recursos hídricos. Tengo un "
                       "plan escrito, con fechas.", ("journeys", "confidence")),
        "mentor_impact": ("Creo que sí: ahora quiere ser mentora de más chicas.", ()),
        "anything_else": ("Que la familia también pueda venir a alguna actividad, para que entiendan.",
                          ("family-expectations",)),
    }),
    Interviewee("mentee", "Me hizo ver que el camino no es recto para nadie", {
        "overall": ("Sí, aunque por la huelga se alargó mucho y perdí el hilo un tiempo.", ("strike-and-unrest",)),
        "gains": ("Me hizo ver que el camino no es recto para nadie. Ella también se cambió de especialidad y "
                  "le fue bien.", ("journeys",)),
        "challenges": ("Hablar de mis inseguridades con alguien que no conocía.", ("confidence",)),
        "mentor_gains": ("Creo que le gustó sentirse útil fuera de sus clases.", ()),
        "mentor_challenges": ("Tenía que viajar a otra sede y a veces llegaba tarde.", ()),
        "own_career": ("Me quiero dedicar a la investigación. Antes no sabía ni cómo se postulaba a un "
                       "semillero.", ("journeys", "confidence")),
        "mentor_impact": ("Dice que ahora trata distinto a las chicas de su curso, que las anima más a participar.",
                          ("gendered-roles",)),
        "anything_else": ("No.", ()),
    }),
    Interviewee("mentee", "Aprendí que decir que no también es cuidarme", {
        "overall": ("Cumplió. Me hubiera gustado empezar antes, desde el primer ciclo.", ()),
        "gains": ("Aprendí que decir que no también es cuidarme. En los trabajos en grupo siempre me tocaba "
                  "hacer el informe mientras los chicos exponían.", ("workplace-bias", "speaking-up")),
        "challenges": ("Conseguir un horario; entre mis clases y las de mi mentora casi no había espacio.", ()),
        "mentor_gains": ("Creo que conocer cómo vivimos la universidad ahora, que es distinto a su época.", ()),
        "mentor_challenges": ("La huelga también le cambió todo el calendario a ella.", ("strike-and-unrest",)),
        "own_career": ("Me siento capaz de presentar un póster en un congreso; ya envié el resumen.",
                       ("confidence",)),
        "mentor_impact": ("No lo sé, habría que preguntarle.", ()),
        "anything_else": ("Gracias a la coordinación por no dejar que el programa se cayera con la huelga.",
                          ("strike-and-unrest",)),
    }),
    Interviewee("mentee", "Me animé a presentar mi proyecto ante el jurado", {
        "overall": ("Sí. Mi mentora fue muy clara y muy exigente, y eso me sirvió.", ()),
        "gains": ("Confianza. Me animé a presentar mi proyecto ante el jurado cuando todavía tenía dudas.",
                  ("confidence", "speaking-up")),
        "challenges": ("Un profesor me dijo que mejor eligiera un tema 'más tranquilo' porque el trabajo de "
                       "campo es duro para una mujer.", ("workplace-bias",)),
        "mentor_gains": ("Se rió y me dijo que le devolví las ganas de investigar.", ()),
        "mentor_challenges": ("Creo que le costó verme pasar por lo mismo que ella pasó hace años.",
                              ("gendered-roles", "journeys")),
        "own_career": ("Quiero trabajar en exploración. Ya no me da miedo ser la única mujer del equipo.",
                       ("confidence", "gendered-roles")),
        "mentor_impact": ("Sí, está armando un grupo de estudiantes mujeres en su laboratorio.", ()),
        "anything_else": ("Que el programa tenga un espacio para denunciar cuando nos tratan mal.",
                          ("workplace-bias",)),
    }),
)
